using static TorchSharp.torch;

namespace VisionLanguage.Models.Decoding;

/// <summary>
/// A decoder run step by step over rows (greedy sequences, beams or samples) of a batch of images, rows image-major
/// with the same number per image. The search algorithms see the decoder only through this, so tests can give them
/// known logits.
/// </summary>
public interface IDecoderSession : IDisposable
{
    /// <summary>Feeds the next tokens (rows, T), the prompt on the first call and one token after; returns the logits (rows, vocab) of the last.</summary>
    Tensor Next(Tensor tokens);

    /// <summary>Keeps rows <paramref name="rows"/> (int64; new row i continues old row rows[i]); a row stays with its image.</summary>
    void Reorder(Tensor rows);
}
