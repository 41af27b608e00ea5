using VisionLanguage.Models.Decoding;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip2;

/// <summary>
/// Q-Former caption generation through ITG (LAVIS <c>Blip2Qformer.generate</c>) step by step with a key/value cache: the
/// queries' self-attention keys and values come from their own pass over the image, once; each step runs only the new
/// text tokens, which attend to every query and every earlier token, and their keys and values join the cache.
/// </summary>
public sealed class QFormerDecoderSession : IDecoderSession
{
    private readonly QFormerLMHeadModel _qformer;
    private readonly IReadOnlyList<QFormerKeyValues> _queries;
    private List<QFormerKeyValues>? _text;
    private long _length;

    /// <param name="qformer">The Q-Former, in eval mode.</param>
    /// <param name="queryCache">Each layer's query keys and values (images, heads, Q, head_dim).</param>
    /// <param name="rowsPerImage">Rows (beams) decoded per image, image-major.</param>
    public QFormerDecoderSession(QFormerLMHeadModel qformer, IReadOnlyList<QFormerKeyValues> queryCache, long rowsPerImage)
    {
        _qformer = qformer;
        _queries = [.. queryCache.Select(entry => new QFormerKeyValues(
            entry.Keys.repeat_interleave(rowsPerImage, dim: 0).DetachFromDisposeScope(),
            entry.Values.repeat_interleave(rowsPerImage, dim: 0).DetachFromDisposeScope()))];
    }

    public Tensor Next(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var length = tokens.shape[1];
        var past = _text is null
            ? _queries
            : [.. _queries.Zip(_text, (queries, text) => new QFormerKeyValues(cat([queries.Keys, text.Keys], 2), cat([queries.Values, text.Values], 2)))];
        Tensor? mask = null;
        if (length > 1)
        {
            // The new tokens see every query and earlier token, and each other causally.
            var seen = past[0].Keys.shape[2];
            var blocked = ones(length, seen + length, device: tokens.device).triu(seen + 1);
            mask = blocked.mul_(RootedScalars.Blocked).unsqueeze(0).unsqueeze(0);
        }

        var (hidden, keyValues) = _qformer.Bert.Forward(tokens, null, mask, null, past, _length);
        var appended = _text is null
            ? keyValues
            : [.. _text.Zip(keyValues, (text, added) => new QFormerKeyValues(cat([text.Keys, added.Keys], 2), cat([text.Values, added.Values], 2)))];
        Replace([.. appended.Select(entry => new QFormerKeyValues(entry.Keys.DetachFromDisposeScope(), entry.Values.DetachFromDisposeScope()))]);
        _length += length;
        return _qformer.Logits(hidden.select(1, -1)).MoveToOuterDisposeScope(); // (rows, vocab)
    }

    public void Reorder(Tensor rows)
    {
        if (_text is null)
        {
            return;
        }

        // Rows stay with their image, so the queries' keys and values need no reordering.
        Replace([.. _text.Select(entry => new QFormerKeyValues(entry.Keys.index_select(0, rows), entry.Values.index_select(0, rows)))]);
    }

    public void Dispose()
    {
        Replace(null);
        foreach (var entry in _queries)
        {
            entry.Keys.Dispose();
            entry.Values.Dispose();
        }
    }

    private void Replace(List<QFormerKeyValues>? text)
    {
        foreach (var entry in _text ?? [])
        {
            entry.Keys.Dispose();
            entry.Values.Dispose();
        }

        _text = text;
    }
}
