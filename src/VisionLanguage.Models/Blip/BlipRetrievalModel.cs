using System.Text.Json.Nodes;
using TorchSharp.Modules;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Med;
using VisionLanguage.Models.Vit;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// BLIP retrieval (LAVIS <c>BlipRetrieval</c>), also CapFilt's filter: the ViT and the text encoder trained with ITC
/// (momentum distillation and feature queues) and ITM (hard negatives); no decoder. Field names follow LAVIS, so a
/// pretrained checkpoint's weights load by name.
/// </summary>
public sealed class BlipRetrievalModel : nn.Module<BlipPretrainBatch, double, BlipRetrievalOutput>, ITrainableModel<BlipPretrainBatch>, IBlipImageText
{
    public const string Format = "blip.retrieval.checkpoint/1";

    private readonly VisionTransformer visual_encoder;
    private readonly BertModel text_encoder;
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

    /// <param name="config">Shapes and objective hyperparameters.</param>
    /// <param name="tokens">The tokenizer's special ids.</param>
    /// <param name="seed">Seed of the weights (replaced when a checkpoint is loaded) and, until reseeded, of dropout and negatives.</param>
    /// <param name="captionSwaps">The one-word edits of the training captions, when ITM draws swapped negatives.</param>
    /// <param name="device">Where the model runs (TorchVision's factory style); the CPU when null. Move it only this way: its components hold the placed tensors.</param>
    public BlipRetrievalModel(BlipModelConfig config, BlipSpecialTokens tokens, long seed, CaptionSwaps? captionSwaps = null, Device? device = null)
        : base(nameof(BlipRetrievalModel))
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
        vision_proj = nn.Linear(config.Vision.Width, config.EmbedDim);
        text_proj = nn.Linear(config.Text.HiddenSize, config.EmbedDim);
        itm_head = nn.Linear(config.Text.HiddenSize, 2);
        BlipInit.Default(vision_proj.weight, vision_proj.bias, init);
        BlipInit.Default(text_proj.weight, text_proj.bias, init);
        BlipInit.Default(itm_head.weight, itm_head.bias, init);

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

    /// <summary>Retrieval models trained before a model per task were pretraining models trained on ITC and ITM.</summary>
    public IReadOnlyList<string> LegacyCheckpointFormats => [BlipPretrainModel.Format];

    public Generator Randomness => _randomness;

    public long QueuePointer => _queues.Pointer;

    public Parameter Temperature => temp;

    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() =>
        named_parameters().Where(entry => entry.parameter.requires_grad);

    /// <summary>ITC and ITM on <paramref name="batch"/>; <paramref name="alpha"/> is the ramped distillation weight.</summary>
    public override BlipRetrievalOutput forward(BlipPretrainBatch batch, double alpha)
    {
        batch.Validate();
        using var scope = NewDisposeScope();
        _contrastive.ClampTemperature();
        var imageEmbeds = visual_encoder.call(batch.Images);                                                 // (B, 1 + P, Dv)
        var itc = _contrastive.Compute(batch, imageEmbeds, alpha);
        var lossItm = _matching.Loss(batch, imageEmbeds, itc.SimI2T, itc.SimT2I);
        var output = new BlipRetrievalOutput(itc.Loss, lossItm, itc.ImageFeatM, itc.TextFeatM);
        foreach (var tensor in new[] { output.Loss, output.LossItc, output.LossItm, output.ImageFeatM, output.TextFeatM })
        {
            tensor.MoveToOuterDisposeScope();
        }

        return output;
    }

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

    public (Tensor Embeds, Tensor Feature) EncodeImage(Tensor images)
    {
        using var scope = NewDisposeScope();
        var embeds = visual_encoder.call(TensorPlacement.On(images, Device));
        var feature = _contrastive.ImageFeature(embeds);
        return (embeds.MoveToOuterDisposeScope(), feature.MoveToOuterDisposeScope());
    }

    public Tensor EncodeText(Tensor textIds, Tensor textMask)
    {
        using var scope = NewDisposeScope();
        return _contrastive.TextFeature(TensorPlacement.On(textIds, Device), TensorPlacement.On(textMask, Device)).MoveToOuterDisposeScope();
    }

    public Tensor MatchScore(Tensor textIds, Tensor textMask, Tensor imageEmbeds)
    {
        using var scope = NewDisposeScope();
        return _matching.MatchScore(TensorPlacement.On(textIds, Device), TensorPlacement.On(textMask, Device), TensorPlacement.On(imageEmbeds, Device)).MoveToOuterDisposeScope();
    }

    public Tensor MatchProbability(Tensor textIds, Tensor textMask, Tensor imageEmbeds)
    {
        using var scope = NewDisposeScope();
        return _matching.MatchProbability(TensorPlacement.On(textIds, Device), TensorPlacement.On(textMask, Device), TensorPlacement.On(imageEmbeds, Device)).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _randomness.Dispose();
        }

        base.Dispose(disposing);
    }
}
