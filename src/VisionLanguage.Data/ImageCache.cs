using SkiaSharp;
using TorchSharp;

namespace VisionLanguage.Data;

/// <summary>
/// A dataset's images by id: their paths, and those decoded while the dataset was opened and kept in memory within the
/// cache budget, so epochs after the first decode nothing; the others are decoded on every use. Thread-safe for loading.
/// </summary>
internal sealed class ImageCache(IReadOnlyList<string> paths, SKImage?[] decoded) : IDisposable
{
    public IReadOnlyList<string> Paths { get; } = paths;

    public void Load(int imageId, ImageTransform transform, int epoch, int sampleIndex, Span<float> destination)
    {
        var cached = decoded[imageId];
        var image = cached ?? ImageDecoding.TryDecode(Paths[imageId], out var problem)
            ?? throw new InvalidDataException($"the image file '{Paths[imageId]}' {problem} (it decoded when the dataset was opened)");
        try
        {
            transform.Apply(image, transform.Sample(image.Width, image.Height, epoch, sampleIndex), destination);
        }
        finally
        {
            if (cached is null)
            {
                image.Dispose();
            }
        }
    }

    public torch.Tensor LoadMany(IReadOnlyList<int> imageIds, ImageTransform transform)
    {
        var length = transform.OutputLength;
        var pixels = new float[imageIds.Count * length];
        for (var i = 0; i < imageIds.Count; i++)
        {
            Load(imageIds[i], transform, epoch: 0, imageIds[i], pixels.AsSpan(i * length, length));
        }

        return torch.tensor(pixels, [imageIds.Count, 3, transform.ImageSize, transform.ImageSize], torch.float32, device: torch.CPU);
    }

    public void Dispose()
    {
        for (var i = 0; i < decoded.Length; i++)
        {
            decoded[i]?.Dispose();
            decoded[i] = null;
        }
    }
}

/// <summary>
/// Builds an <see cref="ImageCache"/> while annotation files are read: <see cref="Check"/> is the readers' image check,
/// which decodes each image once and keeps it while the budget has room; <see cref="Add"/> takes the images a file kept,
/// in id order. Disposing before <see cref="Build"/> (on a failed open) frees every decoded image.
/// </summary>
internal sealed class ImageCacheBuilder(long cacheBytes) : IDisposable
{
    private readonly Dictionary<string, SKImage?> _pending = new(StringComparer.Ordinal);
    private readonly List<string> _paths = [];
    private readonly List<SKImage?> _decoded = [];
    private long _cached;

    /// <summary>Images added so far: the id offset of the next file's images.</summary>
    public int Count => _paths.Count;

    /// <summary>Null when <paramref name="path"/> decodes, else the problem.</summary>
    public string? Check(string path)
    {
        var image = ImageDecoding.TryDecode(path, out var problem);
        var bytes = image is null ? 0 : (long)image.Width * image.Height * 4;
        if (image is not null && _cached + bytes <= cacheBytes)
        {
            _cached += bytes;
            _pending[path] = image;
        }
        else
        {
            image?.Dispose();
        }

        return problem;
    }

    /// <summary>Takes a read file's images in id order; images decoded for entries that were then skipped are freed.</summary>
    public void Add(IReadOnlyList<string> paths)
    {
        foreach (var path in paths)
        {
            _paths.Add(path);
            _decoded.Add(_pending.Remove(path, out var image) ? image : null);
        }

        foreach (var unused in _pending.Values)
        {
            unused?.Dispose();
        }

        _pending.Clear();
    }

    /// <summary>The cache, which now owns the decoded images.</summary>
    public ImageCache Build()
    {
        var cache = new ImageCache([.. _paths], [.. _decoded]);
        _decoded.Clear();
        return cache;
    }

    public void Dispose()
    {
        foreach (var image in _decoded.Concat(_pending.Values))
        {
            image?.Dispose();
        }

        _decoded.Clear();
        _pending.Clear();
    }
}
