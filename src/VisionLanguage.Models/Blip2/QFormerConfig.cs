using System.Text.Json.Serialization;
using VisionLanguage.Models.Med;

namespace VisionLanguage.Models.Blip2;

/// <summary>
/// The Q-Former (LAVIS <c>Blip2Base.init_Qformer</c>): a BERT whose layers read <c>[queries ; text]</c>, with
/// cross-attention into the image every <see cref="CrossAttentionFrequency"/> layers and a feed-forward of the queries'
/// own. The defaults are LAVIS's stage 1: bert-base-uncased (12 × 768, 12 heads, 3,072-wide feed-forward) with
/// <c>[DEC]</c> added to its 30,522 tokens, 32 queries, cross-attention every 2 layers, an EVA ViT-g (1,408 wide).
/// </summary>
public sealed record QFormerConfig
{
    /// <summary>Word-embedding rows: the tokenizer's vocabulary with <c>[DEC]</c> (30,523 for bert-base-uncased).</summary>
    public int VocabSize { get; init; } = 30_523;

    public int HiddenSize { get; init; } = 768;

    public int Layers { get; init; } = 12;

    public int Heads { get; init; } = 12;

    public int IntermediateSize { get; init; } = 3072;

    public int MaxPositionEmbeddings { get; init; } = MedConfig.BertMaxPositions;

    /// <summary>The frozen image encoder's width, which cross-attention's keys and values read (1,408 for EVA ViT-g, 1,024 for CLIP ViT-L).</summary>
    public int EncoderWidth { get; init; } = 1408;

    /// <summary>Layers 0, f, 2f, … cross-attend to the image (LAVIS <c>cross_attention_freq</c>).</summary>
    public int CrossAttentionFrequency { get; init; } = 2;

    /// <summary>Learned query tokens (LAVIS <c>num_query_token</c>).</summary>
    public int QueryTokens { get; init; } = 32;

    public double LayerNormEps { get; init; } = 1e-12;

    public double HiddenDropout { get; init; } = 0.1;

    public double AttentionDropout { get; init; } = 0.1;

    public double InitializerRange { get; init; } = 0.02;

    public long PadTokenId { get; init; }

    /// <summary>
    /// Stage 2's Q-Former (reference §1.6): LAVIS removes the word and position embeddings, the text feed-forwards and
    /// the LM head, since only the queries pass; the embeddings' LayerNorm, self- and cross-attention and the queries'
    /// feed-forwards remain.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool QueriesOnly { get; init; }

    /// <summary>Whether layer <paramref name="layer"/> cross-attends to the image.</summary>
    public bool HasCrossAttention(int layer) => layer % CrossAttentionFrequency == 0;

    /// <summary>Throws, naming the fix, when the shape cannot be built.</summary>
    public void Check()
    {
        if (HiddenSize % Heads != 0)
        {
            throw new ArgumentException($"{Heads} Q-Former heads must divide its width {HiddenSize}");
        }

        if (CrossAttentionFrequency < 1 || QueryTokens < 1 || Layers < 1)
        {
            throw new ArgumentException("the Q-Former needs at least one layer, one query and a cross-attention frequency of at least 1");
        }
    }

    /// <summary>The same sizes as the MED parts (attention output, feed-forward, LM head) read them.</summary>
    internal MedConfig AsMed() => new()
    {
        VocabSize = VocabSize,
        HiddenSize = HiddenSize,
        Layers = Layers,
        Heads = Heads,
        IntermediateSize = IntermediateSize,
        MaxPositionEmbeddings = MaxPositionEmbeddings,
        EncoderWidth = EncoderWidth,
        LayerNormEps = LayerNormEps,
        HiddenDropout = HiddenDropout,
        AttentionDropout = AttentionDropout,
        InitializerRange = InitializerRange,
        PadTokenId = PadTokenId,
    };
}

/// <summary>
/// BLIP-2 stage 1 (LAVIS <c>Blip2Qformer</c>): the Q-Former with <c>ln_vision</c> over the frozen encoder's output,
/// the ITC projections, the ITM head and the temperature.
/// </summary>
public sealed record Blip2Stage1Config
{
    public QFormerConfig Qformer { get; init; } = new();

    /// <summary>The ITC embedding width (LAVIS <c>embed_dim</c>).</summary>
    public int EmbedDim { get; init; } = 256;

    /// <summary>The learnable ITC temperature's initial value; BLIP-2 never clamps it.</summary>
    public double Temperature { get; init; } = 0.07;

    /// <summary>Label smoothing of ITC and ITG (LAVIS: 0.1); ITM has none.</summary>
    public double LabelSmoothing { get; init; } = 0.1;

    /// <summary>
    /// The weight of hard negatives in ITM's sampling: 1 draws every negative from ITC's similarities (LAVIS); 0 draws
    /// uniformly among the other images' pairs (as BLIP's tiny preset, which a few minutes of CPU training learn from).
    /// </summary>
    public double ItmHardNegativeShare { get; init; } = 1.0;

    /// <summary>
    /// ITC's targets treat every pair of the same image as a positive (LAVIS <c>Blip2Qformer.forward</c> when the samples
    /// carry <c>image_id</c>, as the COCO retrieval finetune's do): the targets are the same-image pairs, normalised per
    /// row, smoothed as <c>(1 − s)·targets + s/N</c> with <see cref="LabelSmoothing"/> s. Off (stage 1), only the pair itself is.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool ItcImagePositives { get; init; }
}
