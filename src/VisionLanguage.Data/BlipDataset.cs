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

    private readonly ImageCache _images;

    private BlipDataset(List<BlipSample> samples, ImageCache images, List<BadDataEntry> skipped)
    {
        Samples = samples;
        _images = images;
        Skipped = skipped;
    }

    /// <summary>One per caption; <see cref="BlipSample.ImageId"/> indexes <see cref="ImagePaths"/>.</summary>
    public IReadOnlyList<BlipSample> Samples { get; }

    public int Count => Samples.Count;

    /// <summary>The distinct images, by image id.</summary>
    public IReadOnlyList<string> ImagePaths => _images.Paths;

    public int ImageCount => _images.Paths.Count;

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
        var skipped = new List<BadDataEntry>();

        // The check decodes each image once; it is kept when the cache has room, saving the first epoch a decode.
        using var images = new ImageCacheBuilder(cacheBytes);
        foreach (var source in sources)
        {
            var annotations = BlipAnnotationReader.Read(source.AnnotationFile, source.ImageRoot, policy, images.Check);
            var offset = images.Count;
            images.Add(annotations.ImagePaths);
            samples.AddRange(annotations.Samples.Select(sample => sample with { ImageId = sample.ImageId + offset }));
            skipped.AddRange(annotations.Skipped);
        }

        return new BlipDataset(samples, images.Build(), skipped);
    }

    /// <summary>
    /// Writes image <paramref name="imageId"/> through <paramref name="transform"/> into <paramref name="destination"/>
    /// ([3, size, size]); <paramref name="epoch"/> and <paramref name="sampleIndex"/> pick a training crop.
    /// </summary>
    public void LoadImage(int imageId, ImageTransform transform, int epoch, int sampleIndex, Span<float> destination) =>
        _images.Load(imageId, transform, epoch, sampleIndex, destination);

    /// <summary>
    /// Images <paramref name="imageIds"/> through <paramref name="transform"/> as float32 [n, 3, size, size], e.g. every
    /// image once for retrieval evaluation (crops, if any, drawn for epoch 0 and sample index = image id). The caller
    /// owns (disposes) the tensor.
    /// </summary>
    public torch.Tensor LoadImages(IReadOnlyList<int> imageIds, ImageTransform transform) => _images.LoadMany(imageIds, transform);

    public void Dispose() => _images.Dispose();
}
