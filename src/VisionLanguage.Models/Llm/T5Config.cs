using System.Text.Json.Nodes;
using VisionLanguage.Models.Import;

namespace VisionLanguage.Models.Llm;

/// <summary>
/// A T5 encoder-decoder's shape, as HF's <c>T5Config</c> names it (reference §6.2); the defaults are HF's, which are
/// the original t5-small's (ReLU feed-forward, tied head). T5 v1.1 and Flan-T5 differ: a gated GELU feed-forward
/// (<c>feed_forward_proj</c> "gated-gelu") and an untied <c>lm_head</c> (<c>tie_word_embeddings</c> false).
/// </summary>
public sealed record T5Config
{
    /// <summary>HF <c>vocab_size</c>: T5's 32,000 SentencePiece pieces and 100 sentinels, padded to a multiple of 128.</summary>
    public int VocabSize { get; init; } = 32_128;

    /// <summary>HF <c>d_model</c>: the residual stream's width.</summary>
    public int HiddenSize { get; init; } = 512;

    /// <summary>HF <c>d_kv</c>: one head's width; heads × d_kv need not equal d_model.</summary>
    public int HeadDim { get; init; } = 64;

    /// <summary>HF <c>d_ff</c>: the feed-forward's inner width.</summary>
    public int FfnDim { get; init; } = 2048;

    /// <summary>HF <c>num_layers</c>: encoder blocks.</summary>
    public int Layers { get; init; } = 6;

    /// <summary>HF <c>num_decoder_layers</c>: decoder blocks (HF: num_layers when the config leaves it out).</summary>
    public int DecoderLayers { get; init; } = 6;

    /// <summary>HF <c>num_heads</c>.</summary>
    public int Heads { get; init; } = 8;

    /// <summary>HF <c>relative_attention_num_buckets</c>: rows of each stack's relative position bias table.</summary>
    public int RelativeAttentionBuckets { get; init; } = 32;

    /// <summary>HF <c>relative_attention_max_distance</c>: offsets this far or farther share the last bucket.</summary>
    public int RelativeAttentionMaxDistance { get; init; } = 128;

    /// <summary>HF <c>layer_norm_epsilon</c>, added to the RMSNorm's mean square.</summary>
    public double LayerNormEps { get; init; } = 1e-6;

    /// <summary>A gated feed-forward, act(wi_0 x) · wi_1 x (HF <c>feed_forward_proj</c> "gated-…"), rather than act(wi x).</summary>
    public bool GatedFeedForward { get; init; }

    /// <summary>HF <c>dense_act_fn</c>: HF derives gelu_new from "gated-gelu"; LAVIS's BLIP-2 forces exact gelu.</summary>
    public T5Activation Activation { get; init; } = T5Activation.Relu;

    /// <summary>HF <c>tie_word_embeddings</c>: the head is <c>shared</c>, and the decoder's output is scaled by d_model^-0.5 first.</summary>
    public bool TieWordEmbeddings { get; init; } = true;

    public long PadTokenId { get; init; }

    public long EosTokenId { get; init; } = 1;

    /// <summary>The decoder's first input (HF <c>decoder_start_token_id</c>): the pad id in every T5.</summary>
    public long DecoderStartTokenId { get; init; }

    /// <summary>The attention projections' width, heads × d_kv.</summary>
    public int InnerDim => Heads * HeadDim;

    /// <summary>
    /// The shape an HF <c>config.json</c> of a <c>T5ForConditionalGeneration</c> describes, as <c>from_pretrained</c>
    /// reads it: HF's defaults for keys it leaves out, the activation from <c>dense_act_fn</c> when present (HF sets it
    /// after deriving one from <c>feed_forward_proj</c>, so it wins). What does not read is added to <paramref name="problems"/>.
    /// </summary>
    public static T5Config ReadHfConfig(JsonObject config, List<string> problems)
    {
        var read = new ConfigReader(config, "config.json", problems);
        read.Expect("model_type", "t5");
        var feedForward = read.String("feed_forward_proj", "relu");
        var parts = feedForward.Split('-');
        var gated = parts is ["gated", _];
        if (parts.Length > 2 || (parts.Length == 2 && !gated))
        {
            problems.Add($"config.json: feed_forward_proj '{feedForward}' is not an activation or 'gated-' and an activation (e.g. relu, gated-gelu)");
        }

        // HF's backwards-compatible quirk: "gated-gelu" alone means the tanh approximation.
        var derived = feedForward == "gated-gelu" ? "gelu_new" : parts[^1];
        var activation = read.String("dense_act_fn", derived) switch
        {
            "relu" => T5Activation.Relu,
            "gelu" => T5Activation.Gelu,
            "gelu_new" => T5Activation.GeluNew,
            var other when config.ContainsKey("dense_act_fn") => read.Unsupported("dense_act_fn", other, "relu, gelu or gelu_new", T5Activation.Relu),
            _ => read.Unsupported("feed_forward_proj", feedForward, "relu, gelu or gelu_new, alone or after 'gated-'", T5Activation.Relu),
        };
        if (read.Bool("is_gated_act", gated) != gated)
        {
            problems.Add($"config.json: is_gated_act contradicts feed_forward_proj '{feedForward}'");
        }

        var layers = read.Int("num_layers", 6);
        var pad = read.TokenId("pad_token_id", 0);
        return new T5Config
        {
            VocabSize = read.Int("vocab_size", 32_128),
            HiddenSize = read.Int("d_model", 512),
            HeadDim = read.Int("d_kv", 64),
            FfnDim = read.Int("d_ff", 2048),
            Layers = layers,
            DecoderLayers = read.Int("num_decoder_layers", layers),
            Heads = read.Int("num_heads", 8),
            RelativeAttentionBuckets = read.Int("relative_attention_num_buckets", 32),
            RelativeAttentionMaxDistance = read.Int("relative_attention_max_distance", 128),
            LayerNormEps = read.Double("layer_norm_epsilon", 1e-6),
            GatedFeedForward = gated,
            Activation = activation,
            TieWordEmbeddings = read.Bool("tie_word_embeddings", true),
            PadTokenId = pad,
            EosTokenId = read.TokenId("eos_token_id", 1),
            DecoderStartTokenId = read.TokenId("decoder_start_token_id", pad),
        };
    }

    /// <summary>This shape as HF's <c>config.json</c> of a <c>T5ForConditionalGeneration</c>, every key <see cref="ReadHfConfig"/> reads spelled out.</summary>
    public JsonObject ToHfConfig()
    {
        var activation = Activation switch
        {
            T5Activation.Gelu => "gelu",
            T5Activation.GeluNew => "gelu_new",
            _ => "relu",
        };
        return new JsonObject
        {
            ["model_type"] = "t5",
            ["architectures"] = new JsonArray("T5ForConditionalGeneration"),
            ["is_encoder_decoder"] = true,
            ["vocab_size"] = VocabSize,
            ["d_model"] = HiddenSize,
            ["d_kv"] = HeadDim,
            ["d_ff"] = FfnDim,
            ["num_layers"] = Layers,
            ["num_decoder_layers"] = DecoderLayers,
            ["num_heads"] = Heads,
            ["relative_attention_num_buckets"] = RelativeAttentionBuckets,
            ["relative_attention_max_distance"] = RelativeAttentionMaxDistance,
            ["layer_norm_epsilon"] = LayerNormEps,
            // As Flan-T5's files: "gated-gelu" with the activation spelled out, which HF reads over the derived one.
            ["feed_forward_proj"] = GatedFeedForward ? (activation == "gelu_new" ? "gated-gelu" : $"gated-{activation}") : activation,
            ["dense_act_fn"] = activation,
            ["is_gated_act"] = GatedFeedForward,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["pad_token_id"] = (int)PadTokenId,
            ["eos_token_id"] = (int)EosTokenId,
            ["decoder_start_token_id"] = (int)DecoderStartTokenId,
        };
    }
}

/// <summary>The feed-forward's activation, HF's <c>dense_act_fn</c>.</summary>
public enum T5Activation
{
    /// <summary>The original T5's.</summary>
    Relu,

    /// <summary>Exact (erf) GELU: what LAVIS's BLIP-2 and HF's BLIP-2 conversion force on Flan-T5.</summary>
    Gelu,

    /// <summary>HF's gelu_new, the tanh approximation: what Flan-T5's own config.json names.</summary>
    GeluNew,
}
