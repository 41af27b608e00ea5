using VisionLanguage.Models.Med;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Decoding;

/// <summary>
/// Decoding without a cache: every step runs the whole sequence so far through the decoder, as training does. The
/// reference the cached session is tested against, and the baseline of the decoding benchmark.
/// </summary>
public sealed class RecomputingDecoderSession : IDecoderSession
{
    private readonly BertLMHeadModel _decoder;
    private readonly Tensor _rowImages;
    private Tensor? _sequences;

    /// <param name="decoder">The image-grounded decoder, in eval mode.</param>
    /// <param name="imageEmbeds">Image tokens (images, S, Dv); repeated here for each of an image's rows.</param>
    /// <param name="rowsPerImage">Rows decoded per image.</param>
    public RecomputingDecoderSession(BertLMHeadModel decoder, Tensor imageEmbeds, long rowsPerImage)
    {
        _decoder = decoder;
        _rowImages = imageEmbeds.repeat_interleave(rowsPerImage, dim: 0).DetachFromDisposeScope(); // (rows, S, Dv)
    }

    public Tensor Next(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        Replace(_sequences is null ? tokens.clone() : cat([_sequences, tokens], dim: 1)); // (rows, past + T)
        var logits = _decoder.call(_sequences!, ones_like(_sequences!), _rowImages);     // (rows, past + T, vocab)
        return logits.select(1, -1).MoveToOuterDisposeScope();                          // (rows, vocab)
    }

    public void Reorder(Tensor rows)
    {
        if (_sequences is not null)
        {
            using var scope = NewDisposeScope();
            Replace(_sequences.index_select(0, rows));
        }
    }

    public void Dispose()
    {
        _sequences?.Dispose();
        _rowImages.Dispose();
    }

    private void Replace(Tensor sequences)
    {
        var old = _sequences;
        _sequences = sequences.DetachFromDisposeScope();
        old?.Dispose();
    }
}
