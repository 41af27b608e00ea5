namespace VisionLanguage.Models.Decoding;

/// <summary>
/// The key/value cache of an incremental decode with the MED decoder: one <see cref="LayerKeyValues"/> per layer and the
/// number of tokens already decoded (the next token's position). Rows are image-major: the rows of image i are
/// i·R … i·R + R − 1 for <see cref="RowsPerImage"/> R, which lets cross-attention read each image's keys once.
/// </summary>
public sealed class DecoderKeyValueCache : IDisposable
{
    private readonly LayerKeyValues[] _layers;

    public DecoderKeyValueCache(int layers, long rowsPerImage)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerImage, 1);
        RowsPerImage = rowsPerImage;
        _layers = [.. Enumerable.Range(0, layers).Select(_ => new LayerKeyValues())];
    }

    /// <summary>Rows (beams or samples) decoded per image.</summary>
    public long RowsPerImage { get; }

    /// <summary>Tokens whose keys and values the cache holds: the position of the next token.</summary>
    public long Length { get; private set; }

    public LayerKeyValues Layer(int index) => _layers[index];

    /// <summary>Records that <paramref name="tokens"/> more tokens went through every layer.</summary>
    public void Advance(long tokens) => Length += tokens;

    /// <summary>
    /// Keeps the rows <paramref name="rows"/> (int64; new row i ← old row rows[i]), as beam search does when beams
    /// continue from others. A row must stay with its image, so the image keys and values are not touched.
    /// </summary>
    public void Reorder(TorchSharp.torch.Tensor rows)
    {
        foreach (var layer in _layers)
        {
            layer.Reorder(rows);
        }
    }

    public void Dispose()
    {
        foreach (var layer in _layers)
        {
            layer.Dispose();
        }
    }
}
