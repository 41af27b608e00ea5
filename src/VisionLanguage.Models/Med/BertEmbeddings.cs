using TorchSharp.Modules;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Med;

/// <summary>
/// Word and absolute position embeddings, LayerNorm, dropout (LAVIS <c>BertEmbeddings</c>; BLIP has no token-type
/// embeddings). The encoder and the decoder share one instance.
/// </summary>
public sealed class BertEmbeddings : nn.Module<Tensor, Tensor>
{
    private readonly Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly SeededDropout dropout;

    // A persistent buffer in med.py, so PyTorch checkpoints carry it; kept for that reason.
    private readonly Tensor position_ids;

    public BertEmbeddings(MedConfig config, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(BertEmbeddings))
    {
        word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        position_embeddings = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = new SeededDropout(config.HiddenDropout, dropoutGenerator);
        position_ids = arange(config.MaxPositionEmbeddings, dtype: int64, device: CPU).unsqueeze(0); // (1, max_positions)
        BlipInit.Normal(word_embeddings, config.InitializerRange, initGenerator, config.PadTokenId);
        BlipInit.Normal(position_embeddings, config.InitializerRange, initGenerator);
        RegisterComponents();
    }

    /// <summary>
    /// The word-embedding matrix (vocab, hidden), which the LM head reuses as its output weights: the registered
    /// parameter object itself (Embedding's <c>weight</c> getter wraps the native tensor anew on every call, and a
    /// second wrapper would be a second parameter to the optimiser).
    /// </summary>
    public Parameter WordEmbeddings => word_embeddings.get_parameter("weight")
        ?? throw new InvalidOperationException("the word embedding has no registered weight");

    /// <summary>Token ids (B, L) to embeddings (B, L, hidden).</summary>
    public override Tensor forward(Tensor input_ids) => Embed(input_ids, 0);

    /// <summary>
    /// Token ids (B, L) that follow <paramref name="pastLength"/> earlier tokens (incremental decoding) to embeddings
    /// (B, L, hidden): their positions start at <paramref name="pastLength"/>.
    /// </summary>
    public Tensor Embed(Tensor input_ids, long pastLength)
    {
        var length = input_ids.shape[1];
        if (pastLength + length > position_ids.shape[1])
        {
            throw new ArgumentException(
                $"captions of {pastLength + length} tokens exceed the model's {position_ids.shape[1]} positions; lower max_text_length (or max_length)", nameof(input_ids));
        }

        using var scope = NewDisposeScope();
        var positions = position_ids.narrow(1, pastLength, length);                          // (1, L)
        var embeddings = word_embeddings.call(input_ids).Plus(position_embeddings.call(positions)); // (B, L, D)
        return dropout.call(LayerNorm.call(embeddings)).MoveToOuterDisposeScope();
    }
}
