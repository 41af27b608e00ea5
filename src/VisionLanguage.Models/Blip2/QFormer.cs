using TorchSharp;
using TorchSharp.Modules;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Med;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip2;

/// <summary>One layer's self-attention keys and values (B, heads, L, head_dim): what a later pass attends to without recomputing them.</summary>
public sealed record QFormerKeyValues(Tensor Keys, Tensor Values);

/// <summary>
/// The Q-Former's embeddings (LAVIS <c>Qformer.py::BertEmbeddings</c>): words plus absolute positions for the text
/// (positions start at 0 after the queries, which get none), the learned queries in front, and LayerNorm and dropout over
/// the concatenation, so the queries pass through the LayerNorm too. No token-type embeddings.
/// </summary>
public sealed class QFormerEmbeddings : nn.Module
{
    private readonly Embedding? word_embeddings;
    private readonly Embedding? position_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly SeededDropout dropout;

    // A persistent buffer in LAVIS (HF reports it as unexpected); kept so checkpoints carry the same names.
    private readonly Tensor position_ids;

    public QFormerEmbeddings(QFormerConfig config, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(QFormerEmbeddings))
    {
        if (!config.QueriesOnly)
        {
            word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
            position_embeddings = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        }

        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = new SeededDropout(config.HiddenDropout, dropoutGenerator);
        position_ids = arange(config.MaxPositionEmbeddings, dtype: int64, device: CPU).unsqueeze(0); // (1, max_positions)
        if (word_embeddings is not null && position_embeddings is not null)
        {
            BlipInit.Normal(word_embeddings, config.InitializerRange, initGenerator, config.PadTokenId);
            BlipInit.Normal(position_embeddings, config.InitializerRange, initGenerator);
        }

        RegisterComponents();
    }

    /// <summary>The word-embedding parameter, which the LM head's output projection is.</summary>
    public Parameter WordEmbeddings => word_embeddings?.get_parameter("weight")
        ?? throw new InvalidOperationException("this Q-Former has no word embeddings (stage 2 trims them)");

    /// <summary>
    /// <c>[queries ; text]</c> (B, Q + T, D): text ids (B, T) or null, query embeddings (B, Q, D) or null, and the text
    /// tokens already decoded before these (their positions start there).
    /// </summary>
    public Tensor Embed(Tensor? inputIds, Tensor? queryEmbeds, long pastTextLength)
    {
        using var scope = NewDisposeScope();
        Tensor? text = null;
        if (inputIds is not null)
        {
            if (word_embeddings is null || position_embeddings is null)
            {
                throw new InvalidOperationException("this Q-Former takes queries only (stage 2 trims its text embeddings)");
            }

            var length = inputIds.shape[1];
            if (pastTextLength + length > position_ids.shape[1])
            {
                throw new ArgumentException(
                    $"texts of {pastTextLength + length} tokens exceed the Q-Former's {position_ids.shape[1]} positions; lower max_text_length", nameof(inputIds));
            }

            var positions = position_ids.narrow(1, pastTextLength, length).to(inputIds.device);           // (1, T)
            text = word_embeddings.call(inputIds).Plus(position_embeddings.call(positions));               // (B, T, D)
        }

        var embeddings = (queryEmbeds, text) switch
        {
            ({ } queries, { } words) => cat([queries, words], 1),
            ({ } queries, null) => queries,
            (null, { } words) => words,
            _ => throw new ArgumentException("the Q-Former needs text ids, query embeddings or both"),
        };
        return dropout.call(LayerNorm.call(embeddings)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Scaled dot-product attention (LAVIS <c>BertSelfAttention</c>): self-attention over the layer's input, or
/// cross-attention into the image features. Self-attention may be given keys and values of earlier positions (the
/// queries of ITG, cached from their own pass), which it attends to in front of its own, and returns its own keys and
/// values for such a later pass.
/// </summary>
public sealed class QFormerSelfAttention : nn.Module
{
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly SeededDropout dropout;
    private readonly long _heads;
    private readonly long _headSize;
    private readonly Scalar _scoreDivisor;

    public QFormerSelfAttention(QFormerConfig config, bool isCrossAttention, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(QFormerSelfAttention))
    {
        _heads = config.Heads;
        _headSize = config.HiddenSize / config.Heads;
        _scoreDivisor = Math.Sqrt(_headSize).ToScalar();
        var sourceWidth = isCrossAttention ? config.EncoderWidth : config.HiddenSize;
        query = nn.Linear(config.HiddenSize, config.HiddenSize);
        key = nn.Linear(sourceWidth, config.HiddenSize);
        value = nn.Linear(sourceWidth, config.HiddenSize);
        dropout = new SeededDropout(config.AttentionDropout, dropoutGenerator);
        BlipInit.Normal(query, config.InitializerRange, initGenerator);
        BlipInit.Normal(key, config.InitializerRange, initGenerator);
        BlipInit.Normal(value, config.InitializerRange, initGenerator);
        RegisterComponents();
    }

    /// <summary>
    /// Context (B, L, D) of <paramref name="hidden"/> (B, L, D) attending to <paramref name="source"/> (the image,
    /// B, S, Dv) or to itself after <paramref name="past"/>, under the additive <paramref name="mask"/> (broadcastable to
    /// B, heads, L, past + L) or none; and the keys and values computed here.
    /// </summary>
    public (Tensor Context, QFormerKeyValues KeyValues) Attend(Tensor hidden, Tensor? mask, Tensor? source, QFormerKeyValues? past)
    {
        using var scope = NewDisposeScope();
        var input = source ?? hidden;
        var q = SplitHeads(query.call(hidden));                       // (B, heads, L, head_dim)
        var k = SplitHeads(key.call(input));                          // (B, heads, S, head_dim)
        var v = SplitHeads(value.call(input));                        // (B, heads, S, head_dim)
        var (allKeys, allValues) = past is null ? (k, v) : (cat([past.Keys, k], 2), cat([past.Values, v], 2));
        var scores = q.matmul(allKeys.transpose(-1, -2)).div(_scoreDivisor); // (B, heads, L, past + S)
        if (mask is not null)
        {
            scores = scores.Plus(mask);
        }

        var context = dropout.call(scores.softmax(-1)).matmul(allValues) // (B, heads, L, head_dim)
            .permute(0, 2, 1, 3)                                          // (B, L, heads, head_dim)
            .reshape(hidden.shape[0], hidden.shape[1], _heads * _headSize);
        return (context.MoveToOuterDisposeScope(), new QFormerKeyValues(k.MoveToOuterDisposeScope(), v.MoveToOuterDisposeScope()));
    }

    private Tensor SplitHeads(Tensor x) => x.view(x.shape[0], x.shape[1], _heads, _headSize).permute(0, 2, 1, 3);
}

/// <summary>Attention with its residual output (LAVIS <c>BertAttention</c>): <c>self</c> and <c>output</c>.</summary>
public sealed class QFormerAttention : nn.Module
{
    private readonly QFormerSelfAttention self;
    private readonly BertSelfOutput output;

    public QFormerAttention(QFormerConfig config, bool isCrossAttention, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(QFormerAttention))
    {
        self = new QFormerSelfAttention(config, isCrossAttention, initGenerator, dropoutGenerator);
        output = new BertSelfOutput(config.AsMed(), initGenerator, dropoutGenerator);
        RegisterComponents();
    }

    public (Tensor Output, QFormerKeyValues KeyValues) Attend(Tensor hidden, Tensor? mask, Tensor? source, QFormerKeyValues? past)
    {
        using var scope = NewDisposeScope();
        var (context, keyValues) = self.Attend(hidden, mask, source, past);
        var result = output.call(context, hidden);
        return (result.MoveToOuterDisposeScope(), new QFormerKeyValues(keyValues.Keys.MoveToOuterDisposeScope(), keyValues.Values.MoveToOuterDisposeScope()));
    }
}

/// <summary>
/// One Q-Former layer (LAVIS <c>Qformer.py::BertLayer</c>): self-attention shared by queries and text; for the query
/// positions only, cross-attention into the image (in layers 0, f, 2f, …) and the queries' own feed-forward
/// (<c>intermediate_query</c>, <c>output_query</c>); the text's feed-forward (<c>intermediate</c>, <c>output</c>) for
/// the text positions. A pass without queries (text alone, or text after cached queries) has no cross-attention.
/// </summary>
public sealed class QFormerLayer : nn.Module
{
    private readonly QFormerAttention attention;
    private readonly QFormerAttention? crossattention;
    private readonly BertIntermediate? intermediate;
    private readonly BertOutput? output;
    private readonly BertIntermediate intermediate_query;
    private readonly BertOutput output_query;

    public QFormerLayer(QFormerConfig config, int layer, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(QFormerLayer))
    {
        var med = config.AsMed();
        attention = new QFormerAttention(config, isCrossAttention: false, initGenerator, dropoutGenerator);
        crossattention = config.HasCrossAttention(layer) ? new QFormerAttention(config, isCrossAttention: true, initGenerator, dropoutGenerator) : null;
        if (!config.QueriesOnly)
        {
            intermediate = new BertIntermediate(med, initGenerator);
            output = new BertOutput(med, initGenerator, dropoutGenerator);
        }

        intermediate_query = new BertIntermediate(med, initGenerator);
        output_query = new BertOutput(med, initGenerator, dropoutGenerator);
        RegisterComponents();
    }

    /// <summary>
    /// The layer over <paramref name="hidden"/> (B, Q + T, D) whose first <paramref name="queryLength"/> positions are
    /// queries; <paramref name="image"/> (B, S, Dv) is required when queries are present and the layer cross-attends.
    /// Returns the layer's output and its self-attention keys and values.
    /// </summary>
    public (Tensor Output, QFormerKeyValues KeyValues) Forward(Tensor hidden, Tensor? mask, Tensor? image, long queryLength, QFormerKeyValues? past)
    {
        using var scope = NewDisposeScope();
        var (attended, keyValues) = attention.Attend(hidden, mask, null, past);
        Tensor result;
        if (queryLength > 0)
        {
            var queries = attended.narrow(1, 0, queryLength);
            if (crossattention is not null)
            {
                var source = image ?? throw new ArgumentNullException(nameof(image), "a query pass through a cross-attention layer needs the image features");
                // Every image token is attended to (LAVIS's image_atts are all ones), so cross-attention needs no mask.
                queries = crossattention.Attend(queries, null, source, null).Output;
            }

            queries = output_query.call(intermediate_query.call(queries), queries);
            var textLength = attended.shape[1] - queryLength;
            result = textLength > 0 ? cat([queries, TextFeedForward(attended.narrow(1, queryLength, textLength))], 1) : queries;
        }
        else
        {
            result = TextFeedForward(attended);
        }

        return (result.MoveToOuterDisposeScope(), new QFormerKeyValues(keyValues.Keys.MoveToOuterDisposeScope(), keyValues.Values.MoveToOuterDisposeScope()));
    }

    private Tensor TextFeedForward(Tensor text) =>
        intermediate is not null && output is not null
            ? output.call(intermediate.call(text), text)
            : throw new InvalidOperationException("this Q-Former takes queries only (stage 2 trims the text feed-forwards)");
}

/// <summary>The stack of layers (LAVIS <c>BertEncoder</c>): the checkpoint level <c>encoder.layer.N</c>.</summary>
public sealed class QFormerEncoder : nn.Module
{
    private readonly ModuleList<QFormerLayer> layer;

    public QFormerEncoder(QFormerConfig config, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(QFormerEncoder))
    {
        layer = new ModuleList<QFormerLayer>([.. Enumerable.Range(0, config.Layers).Select(n => new QFormerLayer(config, n, initGenerator, dropoutGenerator))]);
        RegisterComponents();
    }

    public IReadOnlyList<QFormerLayer> Layers => [.. layer];
}

/// <summary>
/// The Q-Former's BERT (LAVIS <c>Qformer.py::BertModel</c> without pooler): embeddings and layers over
/// <c>[queries ; text]</c>.
/// </summary>
public sealed class QFormerBert : nn.Module
{
    private readonly QFormerEmbeddings embeddings;
    private readonly QFormerEncoder encoder;

    public QFormerBert(QFormerConfig config, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(QFormerBert))
    {
        embeddings = new QFormerEmbeddings(config, initGenerator, dropoutGenerator);
        encoder = new QFormerEncoder(config, initGenerator, dropoutGenerator);
        RegisterComponents();
    }

    public QFormerEmbeddings Embeddings => embeddings;

    /// <summary>
    /// The last hidden states (B, Q + T, D) of text <paramref name="inputIds"/> (B, T) and/or queries
    /// <paramref name="queryEmbeds"/> (B, Q, D) under the additive <paramref name="mask"/> (B, 1, 1 or Q + T, past + Q + T),
    /// cross-attending to <paramref name="image"/> (B, S, Dv); each layer's self-attention keys and values come back for a
    /// later pass. <paramref name="past"/>, one entry per layer, puts earlier positions (cached queries) in front of every
    /// layer's keys and values; the text's positions then still start at 0, as LAVIS counts them.
    /// </summary>
    /// <param name="inputIds">Text ids (B, T), or null.</param>
    /// <param name="queryEmbeds">Queries (B, Q, D), or null.</param>
    /// <param name="mask">The additive attention mask, or null where every position sees every other.</param>
    /// <param name="image">Image features for the queries' cross-attention, or null.</param>
    /// <param name="past">Keys and values of earlier positions, one entry per layer, or null.</param>
    /// <param name="pastTextLength">Text tokens among <paramref name="past"/> (incremental decoding): the new text's positions start there.</param>
    public (Tensor Hidden, IReadOnlyList<QFormerKeyValues> KeyValues) Forward(
        Tensor? inputIds, Tensor? queryEmbeds, Tensor? mask, Tensor? image, IReadOnlyList<QFormerKeyValues>? past = null, long pastTextLength = 0)
    {
        using var scope = NewDisposeScope();
        var queryLength = queryEmbeds?.shape[1] ?? 0;
        var hidden = embeddings.Embed(inputIds, queryEmbeds, pastTextLength);
        var cache = new List<QFormerKeyValues>(encoder.Layers.Count);
        for (var n = 0; n < encoder.Layers.Count; n++)
        {
            var (output, keyValues) = encoder.Layers[n].Forward(hidden, mask, image, queryLength, past?[n]);
            hidden = output;
            cache.Add(keyValues);
        }

        foreach (var entry in cache)
        {
            entry.Keys.MoveToOuterDisposeScope();
            entry.Values.MoveToOuterDisposeScope();
        }

        return (hidden.MoveToOuterDisposeScope(), cache);
    }
}

/// <summary>
/// LAVIS <c>Qformer.py::BertLMHeadModel</c>, the checkpoint level <c>Qformer</c>: <c>bert</c> and the <c>cls</c> head
/// whose output weights are the word embeddings (tied, as HF ties them) with a bias of its own; stage 2's
/// (<see cref="QFormerConfig.QueriesOnly"/>) has no head.
/// </summary>
public sealed class QFormerLMHeadModel : nn.Module
{
    private readonly QFormerBert bert;
    private readonly BertOnlyMLMHead? cls;

    public QFormerLMHeadModel(QFormerConfig config, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(QFormerLMHeadModel))
    {
        bert = new QFormerBert(config, initGenerator, dropoutGenerator);
        cls = config.QueriesOnly ? null : new BertOnlyMLMHead(config.AsMed(), bert.Embeddings.WordEmbeddings, initGenerator);
        RegisterComponents();
    }

    public QFormerBert Bert => bert;

    /// <summary>Vocabulary logits (B, T, vocab) of text hidden states (B, T, D).</summary>
    public Tensor Logits(Tensor textHidden) =>
        cls?.call(textHidden) ?? throw new InvalidOperationException("this Q-Former takes queries only (stage 2 trims its LM head)");
}
