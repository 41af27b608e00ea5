using System.Text.Json.Nodes;
using TorchSharp.Modules;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Med;
using VisionLanguage.Models.Vit;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// BLIP captioning (LAVIS <c>BlipCaption</c>): the ViT and the image-grounded decoder, trained with the language-modelling
/// loss on captions after a prompt (the prompt's positions are left out of the loss). The decoder shares all but its
/// self-attention with the text encoder, as in pretraining, so the model holds <c>text_encoder</c> for those shared
/// parts; the encoder's own self-attention is frozen. No momentum encoders, queues, projections or ITM head.
/// </summary>
public sealed class BlipCaptionModel : nn.Module<BlipPretrainBatch, BlipCaptionOutput>, ITrainableModel<BlipPretrainBatch>, IBlipCaptioning
{
    public const string Format = "blip.caption.checkpoint/1";

    private readonly VisionTransformer visual_encoder;
    private readonly BertModel text_encoder;
    private readonly BertLMHeadModel text_decoder;

    private readonly Generator _randomness;
    private readonly BlipSpecialTokens _tokens;

    /// <param name="config">Shapes; the LM's label smoothing.</param>
    /// <param name="tokens">The tokenizer's special ids.</param>
    /// <param name="seed">Seed of the weights (replaced when a checkpoint is loaded) and, until reseeded, of dropout.</param>
    /// <param name="promptLength">
    /// Leading decoder positions ([DEC] and the prompt's tokens) excluded from the LM targets, so the loss covers the
    /// caption only (LAVIS <c>blip_caption</c>'s <c>prompt_length</c>).
    /// </param>
    /// <param name="device">Where the model runs (TorchVision's factory style); the CPU when null. Move it only this way: its components hold the placed tensors.</param>
    public BlipCaptionModel(BlipModelConfig config, BlipSpecialTokens tokens, long seed, int promptLength, Device? device = null)
        : base(nameof(BlipCaptionModel))
    {
        ArgumentOutOfRangeException.ThrowIfNegative(promptLength);
        config.CheckWidths();
        Config = config;
        PromptLength = promptLength;
        _tokens = tokens;
        using var init = new Generator(unchecked((ulong)seed));
        // Weights are drawn on the CPU, so a seed gives the same weights on every device; dropout masks and sampled
        // negatives are drawn where the model runs.
        _randomness = DeviceRandom.Create(unchecked((ulong)seed) ^ 0x9E3779B97F4A7C15UL); // on the CPU whatever the device: see DeviceRandom
        visual_encoder = new VisionTransformer(config.Vision, init);
        text_encoder = new BertModel(config.Text, init, _randomness);
        text_decoder = new BertLMHeadModel(text_encoder, config.Text, init, _randomness);
        RegisterComponents();
        ModelPlacement.PlaceOn(this, device);
        Device = device ?? CPU;

        // The LM reaches the ViT and the decoder, with the encoder's embeddings, cross-attention and FFN it shares,
        // but not the encoder's own self-attention: frozen, so the optimiser holds only what gets gradients.
        var reached = new HashSet<Parameter>(visual_encoder.parameters().Concat(text_decoder.parameters()), ReferenceEqualityComparer.Instance);
        foreach (var parameter in parameters().Where(parameter => !reached.Contains(parameter)))
        {
            parameter.requires_grad = false;
        }
    }

    public BlipModelConfig Config { get; }

    public BlipSpecialTokens Tokens => _tokens;

    /// <summary>Leading decoder positions excluded from the LM targets ([DEC] and the prompt).</summary>
    public int PromptLength { get; }

    public string CheckpointFormat => Format;

    /// <summary>Captioners trained before a model per task were pretraining models trained on LM alone.</summary>
    public IReadOnlyList<string> LegacyCheckpointFormats => [BlipPretrainModel.Format];

    public Generator Randomness => _randomness;

    public BertLMHeadModel TextDecoder => text_decoder;

    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() =>
        named_parameters().Where(entry => entry.parameter.requires_grad);

    public override BlipCaptionOutput forward(BlipPretrainBatch batch)
    {
        batch.Validate();
        using var scope = NewDisposeScope();
        var imageEmbeds = visual_encoder.call(batch.Images);                                                 // (B, 1 + P, Dv)
        var lossLm = LanguageModellingLoss(text_decoder, batch, imageEmbeds, _tokens, Config.LabelSmoothing, PromptLength);
        return new BlipCaptionOutput(lossLm.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// LM: the image-grounded causal decoder predicts each caption token after [DEC] (and after the prompt's first
    /// <paramref name="promptLength"/> positions), label-smoothed, padding ignored.
    /// </summary>
    public static Tensor LanguageModellingLoss(
        BertLMHeadModel decoder, BlipPretrainBatch batch, Tensor imageEmbeds, BlipSpecialTokens tokens, double labelSmoothing, int promptLength)
    {
        var decoderIds = ImageTextMatching.WithFirstToken(batch.TextIds, tokens.DecId);                   // (B, L), [DEC] first
        var logits = decoder.call(decoderIds, batch.TextMask, imageEmbeds);                               // (B, L, V)
        return BlipObjectives.LanguageModelling(logits, decoderIds, batch.TextMask, labelSmoothing, promptLength);
    }

    public void CheckGlobalBatch(int batchPerReplica, int replicas)
    {
    }

    public void BeforeStep(TrainingStep step)
    {
    }

    public ITrainingOutput Forward(BlipPretrainBatch batch, TrainingStep step) => call(batch);

    public void AfterBackward(IReadOnlyList<Tensor> gathered)
    {
    }

    public IReadOnlyDictionary<string, double> StepMetrics(TrainingStep step) => new Dictionary<string, double>();

    public JsonObject Describe() => BlipCheckpointDescription.Of(Config, _tokens);

    public void SaveWeights(string path) => BlipWeights.Save(this, path);

    public WeightsLoadReport LoadWeights(string path, WeightsLoading loading) => BlipWeights.Load(this, Config.Vision.GridSize, path, loading);

    public void SetTraining(bool training) => train(training);

    public bool IsTraining => training;

    /// <summary>Where the model computes; inputs built elsewhere are placed here.</summary>
    public Device Device { get; }

    public Tensor ImageEmbeddings(Tensor images) => visual_encoder.call(TensorPlacement.On(images, Device));

    public Tensor DecoderLogits(Tensor textIds, Tensor textMask, Tensor imageEmbeds) =>
        text_decoder.call(ImageTextMatching.WithFirstToken(TensorPlacement.On(textIds, Device), _tokens.DecId), TensorPlacement.On(textMask, Device), imageEmbeds);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _randomness.Dispose();
        }

        base.Dispose(disposing);
    }
}
