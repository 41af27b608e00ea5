using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp.Modules;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Vit;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip2;

/// <summary>The retrieval finetune's shape: the stage-1 model's, and the image encoder that now trains.</summary>
/// <param name="Stage1">The Q-Former and its objectives (ITC with same-image positives).</param>
/// <param name="EncoderFamily">How the encoder is built and named.</param>
/// <param name="Vision">The encoder's shape at the stage's image size.</param>
/// <param name="BlocksUsed">Encoder blocks whose output is read (as stage 1 read them).</param>
public sealed record Blip2RetrievalConfig(Blip2Stage1Config Stage1, ImageEncoderFamily EncoderFamily, VitConfig Vision, int BlocksUsed)
{
    public string EncoderPrefix => FrozenImageEncoder.WeightsPrefix(EncoderFamily);
}

/// <summary>
/// The BLIP-2 retrieval finetune (LAVIS <c>Blip2Qformer</c> as <c>retrieval_coco_ft.yaml</c> runs it: from the stage-1
/// checkpoint, <c>freeze_vit: False</c>, <c>vit_precision: fp32</c>): the image encoder trains in float32 under the stage-1
/// model, whose ITC, ITM and ITG are unchanged but for ITC's targets, which treat every pair of the same image as a
/// positive (<see cref="Blip2Stage1Config.ItcImagePositives"/>). The stage-1 model's parts are registered here under their
/// own names, beside the encoder's (<c>visual_encoder</c>, or CLIP's <c>vision_model</c>), so the checkpoint has LAVIS's
/// names: <c>visual_encoder.*</c>, <c>ln_vision</c>, <c>Qformer</c>, <c>query_tokens</c>, <c>vision_proj</c>,
/// <c>text_proj</c>, <c>itm_head</c>, <c>temp</c>.
/// </summary>
public sealed class Blip2RetrievalModel : nn.Module, ITrainableModel<BlipPretrainBatch>, IGathersAcrossRanks
{
    public const string Format = "blip2.retrieval.checkpoint/1";

    private readonly nn.Module _encoder;
    private readonly IVisionFeatures _vision;
    private readonly Blip2Stage1Model _stage1;

    /// <param name="config">Shapes and objectives.</param>
    /// <param name="tokens">The tokenizer's special ids.</param>
    /// <param name="seed">Seed of the stage-1 parts' fresh weights (overwritten by the stage-1 checkpoint) and of their randomness.</param>
    /// <param name="device">Where the model runs; the CPU when null.</param>
    public Blip2RetrievalModel(Blip2RetrievalConfig config, BlipSpecialTokens tokens, long seed, Device? device = null)
        : base(nameof(Blip2RetrievalModel))
    {
        if (config.Stage1.Qformer.EncoderWidth != config.Vision.Width)
        {
            throw new ArgumentException($"the Q-Former reads an encoder {config.Stage1.Qformer.EncoderWidth} wide; the encoder is {config.Vision.Width} wide");
        }

        Config = config;
        _stage1 = new Blip2Stage1Model(config.Stage1, tokens, seed, device);
        (_encoder, _vision) = ImageEncoderBackbone.Create(config.EncoderFamily, config.Vision);
        ModelPlacement.PlaceOn(_encoder, device);
        register_module(config.EncoderPrefix, _encoder);
        foreach (var (name, child) in _stage1.named_children())
        {
            register_module(name, child);
        }

        foreach (var (name, parameter) in _stage1.named_parameters(recurse: false))
        {
            register_parameter(name, parameter);
        }

        // Blocks past those read give no output anyone uses (LAVIS builds the encoder without them).
        foreach (var (_, parameter) in _encoder.named_parameters().Where(entry => ImageEncoderBackbone.IsUnreadBlock("." + entry.name, config.BlocksUsed)))
        {
            parameter.requires_grad = false;
        }

        Device = device ?? CPU;
    }

    public Blip2RetrievalConfig Config { get; }

    /// <summary>The Q-Former and its heads, which read the encoder's tokens (for evaluation with the trained encoder).</summary>
    public Blip2Stage1Model Stage1 => _stage1;

    public Device Device { get; }

    public IBatchGather Gather
    {
        get => _stage1.Gather;
        set => _stage1.Gather = value;
    }

    public string CheckpointFormat => Format;

    public IReadOnlyList<string> LegacyCheckpointFormats => [];

    public Generator Randomness => _stage1.Randomness;

    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() => Layers.TrainableParameters.Distinct(this);

    public void CheckGlobalBatch(int batchPerReplica, int replicas) => _stage1.CheckGlobalBatch(batchPerReplica, replicas);

    public void BeforeStep(TrainingStep step)
    {
    }

    /// <summary>The stage-1 objectives over the trained encoder's tokens of the batch's images (B, S, V), with gradient.</summary>
    public ITrainingOutput Forward(BlipPretrainBatch batch, TrainingStep step)
    {
        using var scope = NewDisposeScope();
        var tokens = _vision.Features(TensorPlacement.On(batch.Images, Device), Config.BlocksUsed);   // (B, S, V)
        var output = _stage1.call(new Blip2Stage1Batch(tokens, batch.TextIds, batch.TextMask, batch.ImageIds));
        foreach (var tensor in new[] { output.Loss, output.LossItc, output.LossItm, output.LossItg })
        {
            tensor.MoveToOuterDisposeScope();
        }

        return output;
    }

    /// <summary>The trained encoder's tokens (B, S, V) of images, without gradient: what the Q-Former reads in evaluation.</summary>
    public Tensor EncodeImages(Tensor images)
    {
        using var noGrad = no_grad();
        return _vision.Features(TensorPlacement.On(images, Device), Config.BlocksUsed);
    }

    public void AfterBackward(IReadOnlyList<Tensor> gathered)
    {
    }

    public IReadOnlyDictionary<string, double> StepMetrics(TrainingStep step) => _stage1.StepMetrics(step);

    public JsonObject Describe() => new()
    {
        ["model"] = JsonSerializer.SerializeToNode(Config, BlipCheckpointDescription.Json),
        ["tokens"] = JsonSerializer.SerializeToNode(_stage1.Tokens, BlipCheckpointDescription.Json),
    };

    public void SaveWeights(string path) => BlipWeights.Save(this, path);

    public WeightsLoadReport LoadWeights(string path, WeightsLoading loading) => BlipWeights.Load(this, Config.Vision.GridSize, path, loading);

    /// <summary>
    /// Starts the model from the encoder's weights, then the stage-1 (or retrieval-finetuned) checkpoint's, leniently;
    /// throws, naming the files and <paramref name="fix"/>, when a tensor of the model is in neither.
    /// </summary>
    public void LoadSources(IReadOnlyList<string> paths, string fix)
    {
        HashSet<string>? missing = null;
        foreach (var path in paths)
        {
            WeightsLoadReport report;
            try
            {
                report = BlipWeights.Load(this, Config.Vision.GridSize, path, WeightsLoading.Lenient);
            }
            catch (InvalidDataException wrongShapes)
            {
                throw new InvalidDataException($"{wrongShapes.Message}; {fix}", wrongShapes);
            }

            missing = missing is null ? [.. report.Missing] : [.. missing.Intersect(report.Missing)];
        }

        if (missing is { Count: > 0 })
        {
            var sorted = missing.Order(StringComparer.Ordinal).ToList();
            throw new InvalidDataException($"{sorted.Count} tensors of the model are in none of {string.Join(", ", paths)}, e.g. {string.Join(", ", sorted.Take(3))}; {fix}");
        }
    }

    public void SetTraining(bool training)
    {
        train(training);
        _stage1.SetTraining(training);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stage1.Dispose();
        }

        base.Dispose(disposing);
    }
}
