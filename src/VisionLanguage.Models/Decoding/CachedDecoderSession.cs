using VisionLanguage.Models.Med;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Decoding;

/// <summary>
/// Incremental decoding with a key/value cache: each step runs only the new tokens through the decoder; self-attention
/// reads the cached keys and values of earlier tokens, cross-attention the image's, computed on the first step.
/// </summary>
public sealed class CachedDecoderSession : IDecoderSession
{
    private readonly BertLMHeadModel _decoder;
    private readonly Tensor _imageEmbeds;
    private readonly Tensor? _sourceMask;
    private readonly DecoderKeyValueCache _cache;

    /// <param name="decoder">The image-grounded decoder, in eval mode.</param>
    /// <param name="imageEmbeds">Image tokens (images, S, Dv), one entry per image (not per row); the caller keeps them alive.</param>
    /// <param name="rowsPerImage">Rows decoded per image.</param>
    /// <param name="sourceMask">
    /// Which source tokens cross-attention reads (images, S), ones and zeros, or null for all: a VQA answer decoder's
    /// source is a padded question. The caller keeps it alive.
    /// </param>
    public CachedDecoderSession(BertLMHeadModel decoder, Tensor imageEmbeds, long rowsPerImage, Tensor? sourceMask = null)
    {
        _decoder = decoder;
        _imageEmbeds = imageEmbeds;
        _sourceMask = sourceMask;
        _cache = new DecoderKeyValueCache(decoder.Depth, rowsPerImage);
    }

    public Tensor Next(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var logits = _decoder.ForwardCached(tokens, _imageEmbeds, _cache, _sourceMask); // (rows, T, vocab)
        return logits.select(1, -1).MoveToOuterDisposeScope();             // (rows, vocab)
    }

    public void Reorder(Tensor rows) => _cache.Reorder(rows);

    public void Dispose() => _cache.Dispose();
}
