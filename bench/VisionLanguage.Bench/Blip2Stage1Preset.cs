using System.Text.Json.Nodes;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Med;

namespace VisionLanguage.Bench;

/// <summary>
/// The <c>blip2.stage1</c> values of a preset, read from the <c>presets.json</c> that VisionLanguage.Models embeds (the
/// file the stage-kind catalog applies to a stage's options) and mapped as the worker maps a stage's options
/// (<c>BlipOptionsMapping.Blip2Stage1</c>). A value the preset leaves out keeps the options' default, which is LAVIS's
/// stage 1 and the default of <see cref="QFormerConfig"/> and <see cref="Blip2Stage1Config"/>.
/// </summary>
internal static class Blip2Stage1Preset
{
    private const string ResourceName = "VisionLanguage.Models.presets.json";

    private const string Kind = "blip2.stage1";

    // The option's default: BLIP-2 reads its frozen encoder one block short of its depth.
    private const int DefaultVisionLayer = -2;

    /// <summary>
    /// Stage 1's model for preset <paramref name="name"/> over a vocabulary of <paramref name="vocabSize"/> tokens, its
    /// cross-attention reading an encoder <paramref name="encoderWidth"/> wide, for captions of up to <paramref name="textLength"/> tokens.
    /// </summary>
    public static Blip2Stage1Config Config(string name, int vocabSize, long padTokenId, int encoderWidth, int textLength)
    {
        var values = Values(name);
        var qformer = new QFormerConfig();
        var model = new Blip2Stage1Config();
        var width = Int(values, "qformer_width", qformer.HiddenSize);
        return new Blip2Stage1Config
        {
            Qformer = new QFormerConfig
            {
                VocabSize = vocabSize,
                HiddenSize = width,
                Layers = Int(values, "qformer_layers", qformer.Layers),
                Heads = Int(values, "qformer_heads", qformer.Heads),
                IntermediateSize = 4 * width,
                MaxPositionEmbeddings = Math.Max(MedConfig.BertMaxPositions, textLength),
                EncoderWidth = encoderWidth,
                CrossAttentionFrequency = Int(values, "cross_attention_freq", qformer.CrossAttentionFrequency),
                QueryTokens = Int(values, "num_query_token", qformer.QueryTokens),
                PadTokenId = padTokenId,
            },
            EmbedDim = Int(values, "embed_dim", model.EmbedDim),
            Temperature = Double(values, "temperature", model.Temperature),
            LabelSmoothing = Double(values, "label_smoothing", model.LabelSmoothing),
            ItmHardNegativeShare = Double(values, "itm_hard_negative_share", model.ItmHardNegativeShare),
        };
    }

    /// <summary>Which block of the frozen encoder preset <paramref name="name"/> reads, counted from its end (-1 reads every block).</summary>
    public static int VisionLayer(string name) => Int(Values(name), "vision_layer", DefaultVisionLayer);

    /// <summary>The peak learning rate of preset <paramref name="name"/>, when it sets one.</summary>
    public static double? LearningRate(string name) => Values(name)["learning_rate"]?.GetValue<double>();

    private static JsonObject Values(string name)
    {
        using var stream = typeof(BlipPresets).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"{ResourceName} is not embedded in VisionLanguage.Models");
        return JsonNode.Parse(stream)!["training"]?[Kind]?[name]?.AsObject()
            ?? throw new ArgumentException($"presets.json has no {Kind} values for preset '{name}'", nameof(name));
    }

    private static int Int(JsonObject values, string key, int fallback) => values[key]?.GetValue<int>() ?? fallback;

    private static double Double(JsonObject values, string key, double fallback) => values[key]?.GetValue<double>() ?? fallback;
}
