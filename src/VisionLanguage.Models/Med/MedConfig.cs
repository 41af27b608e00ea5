namespace VisionLanguage.Models.Med;

/// <summary>
/// The MED text transformer (LAVIS <c>med.py</c>, a BERT with cross-attention in every layer). The defaults are
/// <c>configs/models/bert_config.json</c> with BLIP's vocabulary of 30,524 (bert-base-uncased plus [DEC] and [ENC]).
/// </summary>
public sealed record MedConfig
{
    /// <summary>BERT's position table, kept at every size so checkpoints keep its shape.</summary>
    public const int BertMaxPositions = 512;

    /// <summary>Word-embedding rows; the LM head's output width (tied to the word embeddings).</summary>
    public int VocabSize { get; init; } = 30_524;

    /// <summary>Token width (hidden_size).</summary>
    public int HiddenSize { get; init; } = 768;

    /// <summary>Transformer layers (num_hidden_layers).</summary>
    public int Layers { get; init; } = 12;

    /// <summary>Attention heads (num_attention_heads).</summary>
    public int Heads { get; init; } = 12;

    /// <summary>Feed-forward width (intermediate_size), 4 × hidden in BERT.</summary>
    public int IntermediateSize { get; init; } = 3072;

    /// <summary>Rows of the learned position embedding; captions may not be longer.</summary>
    public int MaxPositionEmbeddings { get; init; } = BertMaxPositions;

    /// <summary>Width of the image embeddings cross-attention reads (encoder_width = the ViT's width).</summary>
    public int EncoderWidth { get; init; } = 768;

    /// <summary>LayerNorm epsilon: BERT uses 1e-12.</summary>
    public double LayerNormEps { get; init; } = 1e-12;

    /// <summary>Dropout after embeddings, attention output and FFN (hidden_dropout_prob).</summary>
    public double HiddenDropout { get; init; } = 0.1;

    /// <summary>Dropout on attention probabilities (attention_probs_dropout_prob).</summary>
    public double AttentionDropout { get; init; } = 0.1;

    /// <summary>Standard deviation of the normal initialisation of linear and embedding weights (initializer_range).</summary>
    public double InitializerRange { get; init; } = 0.02;

    /// <summary>[PAD]: the word embedding's padding index, whose row starts at zero and gets no gradient.</summary>
    public long PadTokenId { get; init; }
}
