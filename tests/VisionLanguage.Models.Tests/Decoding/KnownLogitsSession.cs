using VisionLanguage.Models.Decoding;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Decoding;

/// <summary>
/// A decoder whose next-token log-probabilities are a known function of each row's sequence so far, so a search's
/// answer can be worked out by hand. It keeps every row's tokens and follows <see cref="Reorder"/> as a cache must.
/// Rows are image-major, <paramref name="rowsPerImage"/> per image; the table may depend on the image.
/// </summary>
internal sealed class KnownLogitsSession(
    int vocab, Func<long, IReadOnlyList<long>, IReadOnlyDictionary<long, double>> probabilities, int rowsPerImage = 1) : IDecoderSession
{
    public KnownLogitsSession(int vocab, Func<IReadOnlyList<long>, IReadOnlyDictionary<long, double>> probabilities)
        : this(vocab, (_, sequence) => probabilities(sequence))
    {
    }

    /// <summary>Log-probability of a token the table leaves out: practically impossible.</summary>
    private const double Unlikely = -30;

    private List<List<long>> _rows = [];

    /// <summary>Steps the decoder was asked for.</summary>
    public int Calls { get; private set; }

    public Tensor Next(Tensor tokens)
    {
        Calls++;
        var width = (int)tokens.shape[1];
        var ids = tokens.data<long>().ToArray();
        if (_rows.Count == 0)
        {
            _rows = [.. ids.Chunk(width).Select(row => row.ToList())];
        }
        else
        {
            for (var row = 0; row < _rows.Count; row++)
            {
                _rows[row].AddRange(ids.Skip(row * width).Take(width));
            }
        }

        var logits = new float[_rows.Count * vocab];
        for (var row = 0; row < _rows.Count; row++)
        {
            var table = probabilities(row / rowsPerImage, _rows[row]);
            for (var token = 0; token < vocab; token++)
            {
                logits[row * vocab + token] = (float)(table.TryGetValue(token, out var p) ? Math.Log(p) : Unlikely);
            }
        }

        return tensor(logits, [_rows.Count, vocab]);
    }

    public void Reorder(Tensor rows) => _rows = [.. rows.data<long>().ToArray().Select(row => _rows[(int)row].ToList())];

    public void Dispose()
    {
    }
}
