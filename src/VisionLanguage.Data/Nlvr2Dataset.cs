using TorchSharp;

namespace VisionLanguage.Data;

/// <summary>Where an NLVR2 split's annotations and images are: a split of a dataset artifact, or an annotation file and its image root.</summary>
public sealed record Nlvr2DatasetSource(string AnnotationFile, string ImageRoot)
{
    /// <summary>Split <paramref name="split"/> of a dataset artifact folder: <c>nlvr2/SPLIT.json</c>, image paths relative to the folder.</summary>
    public static Nlvr2DatasetSource Split(string folder, string split) =>
        new(Path.Combine(folder, Nlvr2Dataset.SplitFolder, split + Nlvr2Dataset.SplitExtension), folder);
}

/// <summary>
/// NLVR2 examples for training or evaluation: one sample per statement about a pair of images, from one or more
/// annotation files in BLIP's NLVR2 format (several are concatenated, their images numbered on). A dataset artifact holds
/// its NLVR2 splits as <c>nlvr2/SPLIT.json</c> (image paths relative to the artifact folder) next to <c>vocab.txt</c>.
/// Opening checks every entry under the bad-data policy (see <see cref="Nlvr2AnnotationReader"/>) and keeps decoded
/// images in memory within the cache budget. Thread-safe for loading.
/// </summary>
public sealed class Nlvr2Dataset : IDisposable
{
    /// <summary>The folder of a dataset artifact that holds its NLVR2 splits.</summary>
    public const string SplitFolder = "nlvr2";

    public const string SplitExtension = ".json";

    private readonly ImageCache _images;

    private Nlvr2Dataset(List<Nlvr2Sample> samples, ImageCache images, List<BadDataEntry> skipped)
    {
        Samples = samples;
        _images = images;
        Skipped = skipped;
    }

    /// <summary>One per statement; image ids index <see cref="ImagePaths"/>.</summary>
    public IReadOnlyList<Nlvr2Sample> Samples { get; }

    public int Count => Samples.Count;

    public IReadOnlyList<string> ImagePaths => _images.Paths;

    /// <summary>Entries left out under <see cref="BadDataPolicy.Skip"/>.</summary>
    public IReadOnlyList<BadDataEntry> Skipped { get; }

    /// <summary>The names of the NLVR2 splits in dataset artifact <paramref name="folder"/> (ordinal order); empty when it has none.</summary>
    public static IReadOnlyList<string> Splits(string folder)
    {
        var directory = Path.Combine(folder, SplitFolder);
        return Directory.Exists(directory)
            ? [.. Directory.EnumerateFiles(directory, "*" + SplitExtension).Select(Path.GetFileNameWithoutExtension).OfType<string>().Order(StringComparer.Ordinal)]
            : [];
    }

    /// <summary>
    /// The sources of every NLVR2 split of the dataset artifacts <paramref name="folders"/>, in order;
    /// <see cref="InvalidDataException"/> naming <paramref name="input"/> when one of them has none.
    /// </summary>
    public static IReadOnlyList<Nlvr2DatasetSource> SourcesOf(IReadOnlyList<string> folders, string input) =>
        [.. folders.SelectMany(folder =>
        {
            var splits = Splits(folder);
            return splits.Count > 0
                ? splits.Select(split => Nlvr2DatasetSource.Split(folder, split))
                : throw new InvalidDataException(
                    $"input {input}: dataset '{folder}' has no NLVR2 split (no {SplitFolder}/*{SplitExtension}); bind a dataset written by dataset.synthetic with nlvr2_pairs above 0, or by dataset.import with format: nlvr2");
        })];

    /// <summary>Reads and checks every source, concatenated in order.</summary>
    public static Nlvr2Dataset Open(IReadOnlyList<Nlvr2DatasetSource> sources, BadDataPolicy policy, long cacheBytes = BlipDataset.DefaultCacheBytes)
    {
        var samples = new List<Nlvr2Sample>();
        var skipped = new List<BadDataEntry>();
        using var images = new ImageCacheBuilder(cacheBytes);
        foreach (var source in sources)
        {
            var annotations = Nlvr2AnnotationReader.Read(source.AnnotationFile, source.ImageRoot, policy, images.Check);
            var offset = images.Count;
            var first = samples.Count;
            images.Add(annotations.ImagePaths);
            samples.AddRange(annotations.Samples.Select(sample =>
                sample with { Index = first + sample.Index, LeftImageId = sample.LeftImageId + offset, RightImageId = sample.RightImageId + offset }));
            skipped.AddRange(annotations.Skipped);
        }

        return new Nlvr2Dataset(samples, images.Build(), skipped);
    }

    /// <summary>Writes image <paramref name="imageId"/> through <paramref name="transform"/> into <paramref name="destination"/>.</summary>
    public void LoadImage(int imageId, ImageTransform transform, int epoch, int sampleIndex, Span<float> destination) =>
        _images.Load(imageId, transform, epoch, sampleIndex, destination);

    /// <summary>Images <paramref name="imageIds"/> through <paramref name="transform"/> as float32 [n, 3, size, size]; the caller disposes it.</summary>
    public torch.Tensor LoadImages(IReadOnlyList<int> imageIds, ImageTransform transform) => _images.LoadMany(imageIds, transform);

    public void Dispose() => _images.Dispose();
}
