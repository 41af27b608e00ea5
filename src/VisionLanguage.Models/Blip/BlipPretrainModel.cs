using System.Text.Json.Nodes;
using TorchSharp.Modules;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Med;
using VisionLanguage.Models.Vit;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// BLIP pretraining (LAVIS <c>BlipPretrain</c>): a ViT image encoder and the MED text transformer trained with ITC
/// (momentum distillation, feature queues, soft targets), ITM (hard negatives) and LM (a causal decoder that shares all
/// but its self-attention with the encoder). Field names, and so checkpoint names and shapes, follow LAVIS.
/// </summary>
public sealed class BlipPretrainModel : nn.Module<BlipPretrainBatch, double, BlipPretrainOutput>, ITrainableModel<BlipPretrainBatch>, IBlipImageText, IBlipCaptioning
{
    public const string Format = "blip.pretrain.checkpoint/1";

    private readonly VisionTransformer visual_encoder;
    private readonly BertModel text_encoder;
    private readonly BertLMHeadModel text_decoder;
    private readonly Linear vision_proj;
    private readonly Linear text_proj;
    private readonly Linear itm_head;

    private readonly VisionTransformer visual_encoder_m;
    private readonly BertModel text_encoder_m;
    private readonly Linear vision_proj_m;
    private readonly Linear text_proj_m;

    private readonly Tensor image_queue; // (embed_dim, queue_size)
    private readonly Tensor text_queue;  // (embed_dim, queue_size)
    private readonly Tensor queue_ptr;   // (1), int64
    private readonly Parameter temp;     // scalar

    private readonly Generator _randomness;
    private readonly BlipSpecialTokens _tokens;
    private readonly MomentumDistillation _momentum;
    private readonly FeatureQueues _queues;
    private readonly ImageTextContrastive _contrastive;
    private readonly ImageTextMatching _matching;

    /// <summary>
    /// Builds the model with weights drawn from <paramref name="seed"/>: the same seed gives the same weights. Dropout and
    /// ITM negatives draw from <see cref="Randomness"/>, seeded from <paramref name="seed"/> too until reseeded.
    /// </summary>
    /// <param name="config">Shapes and objective hyperparameters.</param>
    /// <param name="tokens">The tokenizer's special ids.</param>
    /// <param name="seed">Seed of the weights and, until reseeded, of <see cref="Randomness"/>.</param>
    /// <param name="captionSwaps">
    /// The one-word edits of the training captions; training ITM needs them when the config's <c>ItmSwapNegativeShare</c>
    /// is above 0, scoring a trained model does not.
    /// </param>
    /// <param name="device">Where the model runs (TorchVision's factory style); the CPU when null. Move it only this way: its components hold the placed tensors.</param>
    public BlipPretrainModel(BlipModelConfig config, BlipSpecialTokens tokens, long seed, CaptionSwaps? captionSwaps = null, Device? device = null)
        : base(nameof(BlipPretrainModel))
    {
        config.CheckWidths();
        Config = config;
        _tokens = tokens;
        using var init = new Generator(unchecked((ulong)seed));
        // Weights are drawn on the CPU, so a seed gives the same weights on every device; dropout masks and sampled
        // negatives are drawn where the model runs.
        _randomness = DeviceRandom.Create(unchecked((ulong)seed) ^ 0x9E3779B97F4A7C15UL); // on the CPU whatever the device: see DeviceRandom

        visual_encoder = new VisionTransformer(config.Vision, init);
        text_encoder = new BertModel(config.Text, init, _randomness);
        text_decoder = new BertLMHeadModel(text_encoder, config.Text, init, _randomness);
        vision_proj = nn.Linear(config.Vision.Width, config.EmbedDim);
        text_proj = nn.Linear(config.Text.HiddenSize, config.EmbedDim);
        itm_head = nn.Linear(config.Text.HiddenSize, 2);
        BlipInit.Default(vision_proj.weight, vision_proj.bias, init);
        BlipInit.Default(text_proj.weight, text_proj.bias, init);
        BlipInit.Default(itm_head.weight, itm_head.bias, init);

        // Momentum encoders start as copies (LAVIS copy_params) and never receive gradients.
        visual_encoder_m = new VisionTransformer(config.Vision, init);
        text_encoder_m = new BertModel(config.Text, init, _randomness);
        vision_proj_m = nn.Linear(config.Vision.Width, config.EmbedDim);
        text_proj_m = nn.Linear(config.Text.HiddenSize, config.EmbedDim);
        _momentum = new MomentumDistillation(
            [(visual_encoder, visual_encoder_m), (text_encoder, text_encoder_m), (vision_proj, vision_proj_m), (text_proj, text_proj_m)], config.Momentum);

        (image_queue, text_queue, queue_ptr) = FeatureQueues.Create(config.EmbedDim, config.QueueSize, init);
        temp = new Parameter(full(Array.Empty<long>(), config.Temperature, dtype: float32, device: CPU));
        _momentum.CopyParameters();
        RegisterComponents();
        ModelPlacement.PlaceOn(this, device);
        Device = device ?? CPU;

        // After the move, which may replace the tensors the fields hold: the components work on the placed ones.
        _queues = new FeatureQueues(image_queue, text_queue, queue_ptr);
        _contrastive = new ImageTextContrastive(text_encoder, vision_proj, text_proj, visual_encoder_m, text_encoder_m, vision_proj_m, text_proj_m, _queues, temp);
        _matching = new ImageTextMatching(text_encoder, itm_head, tokens, _randomness, config, captionSwaps);
    }

    public BlipModelConfig Config { get; }

    public BlipSpecialTokens Tokens => _tokens;

    public string CheckpointFormat => Format;

    public IReadOnlyList<string> LegacyCheckpointFormats => [];

    /// <summary>The source of dropout masks and ITM negatives; its state is part of a checkpoint.</summary>
    public Generator Randomness => _randomness;

    /// <summary>Where the ITC queues write next.</summary>
    public long QueuePointer => _queues.Pointer;

    /// <summary>The queues (embed_dim, queue_size), for inspection; do not write through them.</summary>
    public (Tensor Image, Tensor Text) Queues => (image_queue, text_queue);

    /// <summary>The current ITC temperature.</summary>
    public Parameter Temperature => temp;

    /// <summary>The parameters the optimiser updates, under their checkpoint names, each once (shared ones included once).</summary>
    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() =>
        named_parameters().Where(entry => entry.parameter.requires_grad);

    /// <summary>Pairs each online parameter with its momentum copy, in the order LAVIS's model_pairs walk them.</summary>
    public IEnumerable<(Parameter Online, Parameter Momentum)> MomentumParameterPairs() => _momentum.ParameterPairs();

    /// <summary>ITC, ITM and LM on <paramref name="batch"/>; <paramref name="alpha"/> is the ramped distillation weight.</summary>
    public override BlipPretrainOutput forward(BlipPretrainBatch batch, double alpha)
    {
        batch.Validate();
        using var scope = NewDisposeScope();
        _contrastive.ClampTemperature();
        var imageEmbeds = visual_encoder.call(batch.Images);                                                 // (B, 1 + P, Dv)

        // ---- ITC: unimodal image and text features against the momentum features and the queues.
        var itc = _contrastive.Compute(batch, imageEmbeds, alpha);

        // ---- ITM: the image-grounded encoder on positives and hard negatives drawn from ITC's similarities.
        var lossItm = _matching.Loss(batch, imageEmbeds, itc.SimI2T, itc.SimT2I);

        // ---- LM: the image-grounded causal decoder predicts each caption token after [DEC].
        var lossLm = BlipCaptionModel.LanguageModellingLoss(text_decoder, batch, imageEmbeds, _tokens, Config.LabelSmoothing, promptLength: 0);

        var output = new BlipPretrainOutput(itc.Loss, lossItm, lossLm, itc.ImageFeatM, itc.TextFeatM);
        foreach (var tensor in new[] { output.Loss, output.LossItc, output.LossItm, output.LossLm, output.ImageFeatM, output.TextFeatM })
        {
            tensor.MoveToOuterDisposeScope();
        }

        return output;
    }

    /// <summary>θ_m ← m·θ_m + (1 − m)·θ for every momentum pair (LAVIS <c>_momentum_update</c>); once per optimiser step.</summary>
    public void MomentumUpdate() => _momentum.Update();

    /// <summary>Writes a step's momentum features, gathered from every replica, into the queues (LAVIS <c>_dequeue_and_enqueue</c>).</summary>
    public void DequeueAndEnqueue(Tensor imageFeats, Tensor textFeats) => _queues.Enqueue(imageFeats, textFeats);

    public void CheckGlobalBatch(int batchPerReplica, int replicas) => _queues.CheckGlobalBatch(batchPerReplica, replicas);

    public void BeforeStep(TrainingStep step) => _momentum.Update();

    public ITrainingOutput Forward(BlipPretrainBatch batch, TrainingStep step) => call(batch, Config.RampedAlpha(step));

    public void AfterBackward(IReadOnlyList<Tensor> gathered) => _queues.Enqueue(gathered[0], gathered[1]);

    public IReadOnlyDictionary<string, double> StepMetrics(TrainingStep step) =>
        new Dictionary<string, double> { ["temp"] = temp.item<float>(), ["alpha"] = Config.RampedAlpha(step) };

    public JsonObject Describe() => BlipCheckpointDescription.Of(Config, _tokens);

    public void SaveWeights(string path) => BlipWeights.Save(this, path);

    public WeightsLoadReport LoadWeights(string path, WeightsLoading loading) => BlipWeights.Load(this, Config.Vision.GridSize, path, loading);

    /// <summary>Where the model computes; inputs built elsewhere are placed here.</summary>
    public Device Device { get; }

    public void SetTraining(bool training) => train(training);

    public bool IsTraining => training;

    /// <summary>Image tokens (B, 1 + P, Dv) and the normalised ITC image feature (B, E).</summary>
    public (Tensor Embeds, Tensor Feature) EncodeImage(Tensor images)
    {
        using var scope = NewDisposeScope();
        var embeds = visual_encoder.call(TensorPlacement.On(images, Device));
        var feature = _contrastive.ImageFeature(embeds);
        return (embeds.MoveToOuterDisposeScope(), feature.MoveToOuterDisposeScope());
    }

    /// <summary>The unimodal text encoder's normalised ITC feature (B, E) of captions [CLS] … [SEP].</summary>
    public Tensor EncodeText(Tensor textIds, Tensor textMask)
    {
        using var scope = NewDisposeScope();
        return _contrastive.TextFeature(TensorPlacement.On(textIds, Device), TensorPlacement.On(textMask, Device)).MoveToOuterDisposeScope();
    }

    /// <summary>ITM logit of "match" (B) for captions (with [CLS], replaced here by [ENC]) against image tokens.</summary>
    public Tensor MatchScore(Tensor textIds, Tensor textMask, Tensor imageEmbeds)
    {
        using var scope = NewDisposeScope();
        return _matching.MatchScore(TensorPlacement.On(textIds, Device), TensorPlacement.On(textMask, Device), TensorPlacement.On(imageEmbeds, Device)).MoveToOuterDisposeScope();
    }

    /// <summary>ITM match probability (B) for captions against image tokens; CapFilt's filter keeps a pair when it reaches a threshold.</summary>
    public Tensor MatchProbability(Tensor textIds, Tensor textMask, Tensor imageEmbeds)
    {
        using var scope = NewDisposeScope();
        return _matching.MatchProbability(TensorPlacement.On(textIds, Device), TensorPlacement.On(textMask, Device), TensorPlacement.On(imageEmbeds, Device)).MoveToOuterDisposeScope();
    }

    /// <summary>Image tokens (B, 1 + P, Dv) of the image encoder, which the decoder and the ITM encoder attend to.</summary>
    public Tensor ImageEmbeddings(Tensor images) => visual_encoder.call(TensorPlacement.On(images, Device));

    /// <summary>The image-grounded decoder (<c>text_decoder</c>), for step-by-step decoding.</summary>
    public BertLMHeadModel TextDecoder => text_decoder;

    /// <summary>Image-grounded decoder logits (B, L, V) for ids whose first token is replaced by [DEC].</summary>
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
