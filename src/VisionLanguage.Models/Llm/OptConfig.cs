using System.Text.Json.Nodes;
using VisionLanguage.Models.Import;

namespace VisionLanguage.Models.Llm;

/// <summary>
/// An OPT-architecture decoder's shape, as HF's <c>OPTConfig</c> names it (reference §6.1); the defaults are OPT-125m's.
/// OPT-350m differs in two ways the others do not: LayerNorm after each residual (<see cref="LayerNormBefore"/> false)
/// and word embeddings narrower than the layers (<see cref="WordEmbedWidth"/> 512 under 1,024), bridged by
/// <c>project_in</c> and <c>project_out</c>.
/// </summary>
public sealed record OptConfig
{
    /// <summary>HF's learned positions start at index 2 (<c>OPTLearnedPositionalEmbedding.offset</c>).</summary>
    public const int PositionOffset = 2;

    public int VocabSize { get; init; } = 50_272;

    public int HiddenSize { get; init; } = 768;

    public int Layers { get; init; } = 12;

    public int Heads { get; init; } = 12;

    public int FfnDim { get; init; } = 3072;

    public int MaxPositionEmbeddings { get; init; } = 2048;

    /// <summary>Pre-LayerNorm blocks and a final LayerNorm (every OPT but 350m).</summary>
    public bool LayerNormBefore { get; init; } = true;

    /// <summary>The word embeddings' width (HF <c>word_embed_proj_dim</c>).</summary>
    public int WordEmbedWidth { get; init; } = 768;

    public long PadTokenId { get; init; } = 1;

    public long BosTokenId { get; init; } = 2;

    public long EosTokenId { get; init; } = 2;

    /// <summary>Whether the word embeddings need projecting to and from the layers' width.</summary>
    public bool Projects => WordEmbedWidth != HiddenSize;

    /// <summary>
    /// The shape an HF <c>config.json</c> of an <c>OPTForCausalLM</c> describes, HF <c>OPTConfig</c>'s defaults standing
    /// for keys it leaves out; what does not read, or is a variant no released OPT uses, is added to <paramref name="problems"/>.
    /// </summary>
    public static OptConfig ReadHfConfig(JsonObject config, List<string> problems)
    {
        var read = new ConfigReader(config, "config.json", problems);
        read.Expect("model_type", "opt");
        read.Expect("activation_function", "relu");
        var hidden = read.Int("hidden_size", 768);
        var opt = new OptConfig
        {
            VocabSize = read.Int("vocab_size", 50_272),
            HiddenSize = hidden,
            Layers = read.Int("num_hidden_layers", 12),
            Heads = read.Int("num_attention_heads", 12),
            FfnDim = read.Int("ffn_dim", 3072),
            MaxPositionEmbeddings = read.Int("max_position_embeddings", 2048),
            LayerNormBefore = read.Bool("do_layer_norm_before", true),
            WordEmbedWidth = read.Int("word_embed_proj_dim", hidden),
            PadTokenId = read.TokenId("pad_token_id", 1),
            BosTokenId = read.TokenId("bos_token_id", 2),
            EosTokenId = read.TokenId("eos_token_id", 2),
        };
        read.Divides("num_attention_heads", opt.Heads, "hidden_size", opt.HiddenSize);
        if (read.Bool("_remove_final_layer_norm", false) || !read.Bool("enable_bias", true) || !read.Bool("layer_norm_elementwise_affine", true))
        {
            problems.Add("config.json: _remove_final_layer_norm, enable_bias false or layer_norm_elementwise_affine false is a variant no released OPT uses, and it is not supported");
        }

        return opt;
    }

    /// <summary>This shape as HF's <c>config.json</c> of an <c>OPTForCausalLM</c>, every key <see cref="ReadHfConfig"/> reads spelled out.</summary>
    public JsonObject ToHfConfig() => new()
    {
        ["model_type"] = "opt",
        ["architectures"] = new JsonArray("OPTForCausalLM"),
        ["vocab_size"] = VocabSize,
        ["hidden_size"] = HiddenSize,
        ["num_hidden_layers"] = Layers,
        ["num_attention_heads"] = Heads,
        ["ffn_dim"] = FfnDim,
        ["max_position_embeddings"] = MaxPositionEmbeddings,
        ["do_layer_norm_before"] = LayerNormBefore,
        ["word_embed_proj_dim"] = WordEmbedWidth,
        ["activation_function"] = "relu",
        ["enable_bias"] = true,
        ["layer_norm_elementwise_affine"] = true,
        ["_remove_final_layer_norm"] = false,
        ["pad_token_id"] = (int)PadTokenId,
        ["bos_token_id"] = (int)BosTokenId,
        ["eos_token_id"] = (int)EosTokenId,
    };
}
