using SkiaSharp;
using TorchSharp;

namespace VisionLanguage.Data;

/// <summary>Where a dataset's annotations and images are: a dataset artifact folder, or an annotation file and its image root.</summary>
public sealed record BlipDatasetSource(string AnnotationFile, string ImageRoot)
{
    /// <summary>A dataset artifact folder: <c>annotations.json</c>, with image paths relative to the folder.</summary>
    public static BlipDatasetSource Folder(string folder) => new(Path.Combine(folder, BlipAnnotationReader.FileName), folder);
}

/// <summary>
/// Image-caption pairs for training or evaluation: one sample per caption, from one or more BLIP annotation files
/// (several are concatenated, their images numbered on). Opening checks every entry (the image exists and decodes,
/// the caption is non-empty) under the bad-data policy, and keeps the decoded images in memory while they fit in
/// the cache budget, so epochs after the first decode nothing. Thread-safe for loading.
/// </summary>
public sealed class BlipDataset : IDisposable
{
    /// <summary>Decoded images kept in memory up to this many bytes (RGBA); the rest are decoded on every use.</summary>
    public const long DefaultCacheBytes = 1L << 30;

    private readonly SKImage?[] _cache;
    private readonly List<string> _imagePaths;

    private BlipDataset(List<BlipSample> samples, List<string> imagePaths, List<BadDataEntry> skipped, SKImage?[] cache)
    {
        Samples = samples;
        _imagePaths = imagePaths;
        Skipped = skipped;
        _cache = cache;
    }

    /// <summary>One per caption; <see cref="BlipSample.ImageId"/> indexes <see cref="ImagePaths"/>.</summary>
    public IReadOnlyList<BlipSample> Samples { get; }

    public int Count => Samples.Count;

    /// <summary>The distinct images, by image id.</summary>
    public IReadOnlyList<string> ImagePaths => _imagePaths;

    public int ImageCount => _imagePaths.Count;

    /// <summary>Entries or captions left out under <see cref="BadDataPolicy.Skip"/>.</summary>
    public IReadOnlyList<BadDataEntry> Skipped { get; }

    /// <summary>Opens a dataset artifact folder (see <see cref="BlipDatasetSource.Folder"/>).</summary>
    public static BlipDataset OpenFolder(string folder, BadDataPolicy policy) => Open([BlipDatasetSource.Folder(folder)], policy);

    /// <summary>
    /// Reads and checks every source, concatenated in order. Throws <see cref="BadDataException"/> on the first
    /// bad entry with <see cref="BadDataPolicy.Fail"/>; skips and counts them with <see cref="BadDataPolicy.Skip"/>.
    /// </summary>
    public static BlipDataset Open(IReadOnlyList<BlipDatasetSource> sources, BadDataPolicy policy, long cacheBytes = DefaultCacheBytes)
    {
        var samples = new List<BlipSample>();
        var paths = new List<string>();
        var skipped = new List<BadDataEntry>();
        var decoded = new List<SKImage?>();
        var cached = 0L;
        try
        {
            foreach (var source in sources)
            {
                // The check decodes each image once; it is kept when the cache has room, saving the first epoch a decode.
                var pending = new Dictionary<string, SKImage?>(StringComparer.Ordinal);
                var annotations = BlipAnnotationReader.Read(source.AnnotationFile, source.ImageRoot, policy, path =>
                {
                    var image = ImageDecoding.TryDecode(path, out var problem);
                    if (image is not null && cached + ((long)image.Width * image.Height * 4) <= cacheBytes)
                    {
                        cached += (long)image.Width * image.Height * 4;
                        pending[path] = image;
                    }
                    else
                    {
                        image?.Dispose();
                    }

                    return problem;
                });

                var offset = paths.Count;
                foreach (var path in annotations.ImagePaths)
                {
                    paths.Add(path);
                    decoded.Add(pending.Remove(path, out var image) ? image : null);
                }

                // Images of skipped entries only.
                foreach (var unused in pending.Values)
                {
                    unused?.Dispose();
                }

                samples.AddRange(annotations.Samples.Select(sample => sample with { ImageId = sample.ImageId + offset }));
                skipped.AddRange(annotations.Skipped);
            }
        }
        catch
        {
            foreach (var image in decoded)
            {
                image?.Dispose();
            }

            throw;
        }

        return new BlipDataset(samples, paths, skipped, [.. decoded]);
    }

    /// <summary>
    /// Writes image <paramref name="imageId"/> through <paramref name="transform"/> into <paramref name="destination"/>
    /// ([3, size, size]); <paramref name="epoch"/> and <paramref name="sampleIndex"/> pick a training crop.
    /// </summary>
    public void LoadImage(int imageId, ImageTransform transform, int epoch, int sampleIndex, Span<float> destination)
    {
        var cached = _cache[imageId];
        var image = cached ?? ImageDecoding.TryDecode(_imagePaths[imageId], out var problem)
            ?? throw new InvalidDataException($"the image file '{_imagePaths[imageId]}' {problem} (it decoded when the dataset was opened)");
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

    /// <summary>
    /// Images <paramref name="imageIds"/> through <paramref name="transform"/> as float32 [n, 3, size, size], e.g. every
    /// image once for retrieval evaluation (crops, if any, drawn for epoch 0 and sample index = image id). The caller
    /// owns (disposes) the tensor.
    /// </summary>
    public torch.Tensor LoadImages(IReadOnlyList<int> imageIds, ImageTransform transform)
    {
        var length = transform.OutputLength;
        var pixels = new float[imageIds.Count * length];
        for (var i = 0; i < imageIds.Count; i++)
        {
            LoadImage(imageIds[i], transform, epoch: 0, imageIds[i], pixels.AsSpan(i * length, length));
        }

        return torch.tensor(pixels, [imageIds.Count, 3, transform.ImageSize, transform.ImageSize], torch.float32);
    }

    public void Dispose()
    {
        for (var i = 0; i < _cache.Length; i++)
        {
            _cache[i]?.Dispose();
            _cache[i] = null;
        }
    }
}
