using System.Reflection;
using System.Text.Json.Nodes;
using VisionLanguage.Models.Med;
using VisionLanguage.Models.Vit;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// BLIP's model presets (tiny, base, large) as data: the same <c>presets.json</c> that the stage-kind catalog applies to
/// a stage's options, embedded here so that a bench or a notebook builds the model a stage builds without the
/// orchestrator. A preset is a shape (sizes, widths, depths, heads) and, per stage kind, training values; values a preset
/// leaves out keep <see cref="BlipModelConfig"/>'s defaults.
/// </summary>
public static class BlipPresets
{
    private const string PretrainKind = "blip.pretrain";

    private static readonly JsonObject Document = Load();

    /// <summary>The preset names: tiny (trains on a CPU in about a minute), base (ViT-B/16) and large (ViT-L/16).</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Document["shapes"]!.AsObject().Select(shape => shape.Key)];

    /// <summary>The pretraining model of preset <paramref name="name"/> for a vocabulary of <paramref name="vocabSize"/> tokens.</summary>
    public static BlipModelConfig Pretrain(string name, int vocabSize, long padTokenId)
    {
        var shape = Document["shapes"]![name]?.AsObject()
            ?? throw new ArgumentException($"unknown preset '{name}'; use one of: {string.Join(", ", Names)}", nameof(name));
        var training = Document["training"]![PretrainKind]?[name]?.AsObject() ?? new JsonObject();
        var defaults = new BlipModelConfig();
        var visionWidth = Int(shape, "vision_width");
        var textWidth = Int(shape, "text_width");
        return new BlipModelConfig
        {
            Vision = new VitConfig
            {
                ImageSize = Int(shape, "image_size"),
                PatchSize = Int(shape, "patch_size"),
                Width = visionWidth,
                Depth = Int(shape, "vision_depth"),
                Heads = Int(shape, "vision_heads"),
            },
            Text = new MedConfig
            {
                VocabSize = vocabSize,
                HiddenSize = textWidth,
                Layers = Int(shape, "text_layers"),
                Heads = Int(shape, "text_heads"),
                IntermediateSize = 4 * textWidth,
                MaxPositionEmbeddings = Math.Max(MedConfig.BertMaxPositions, Int(shape, "max_text_length")),
                EncoderWidth = visionWidth,
                PadTokenId = padTokenId,
            },
            EmbedDim = Int(shape, "embed_dim"),
            QueueSize = training["queue_size"]?.GetValue<int>() ?? defaults.QueueSize,
            Momentum = training["momentum"]?.GetValue<double>() ?? defaults.Momentum,
            Alpha = training["alpha"]?.GetValue<double>() ?? defaults.Alpha,
            Temperature = training["temperature"]?.GetValue<double>() ?? defaults.Temperature,
            ItmHardNegativeShare = training["itm_hard_negative_share"]?.GetValue<double>() ?? defaults.ItmHardNegativeShare,
            LabelSmoothing = training["label_smoothing"]?.GetValue<double>() ?? defaults.LabelSmoothing,
        };
    }

    /// <summary>The peak learning rate preset <paramref name="name"/> trains <c>blip.pretrain</c> with, when it sets one.</summary>
    public static double? PretrainLearningRate(string name) => Document["training"]![PretrainKind]?[name]?["learning_rate"]?.GetValue<double>();

    /// <summary>The longest caption, in tokens, of preset <paramref name="name"/>.</summary>
    public static int MaxTextLength(string name) => Int(Document["shapes"]![name]!.AsObject(), "max_text_length");

    private static int Int(JsonObject values, string key) =>
        values[key]?.GetValue<int>() ?? throw new InvalidDataException($"presets.json: a shape preset has no '{key}'");

    private static JsonObject Load()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("VisionLanguage.Models.presets.json")
            ?? throw new InvalidOperationException("presets.json is not embedded in VisionLanguage.Models");
        return JsonNode.Parse(stream)!.AsObject();
    }
}
