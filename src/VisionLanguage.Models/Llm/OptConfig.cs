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
}
