using System.Text.Json;
using TorchSharp;

namespace VisionLanguage.Data;

/// <summary>Where a VQA split's annotations and images are: a split of a dataset artifact, or an annotation file and its image root.</summary>
public sealed record VqaDatasetSource(string AnnotationFile, string ImageRoot)
{
    /// <summary>Split <paramref name="split"/> of a dataset artifact folder: <c>vqa/SPLIT.json</c>, image paths relative to the folder.</summary>
    public static VqaDatasetSource Split(string folder, string split) =>
        new(Path.Combine(folder, VqaDataset.SplitFolder, split + VqaDataset.SplitExtension), folder);
}

/// <summary>
/// VQA questions for training or evaluation: one sample per question, from one or more VQA annotation files in LAVIS's
/// VQAv2 format (several are concatenated, their images numbered on; question ids must be unique across them). A
/// dataset artifact holds its VQA splits as <c>vqa/SPLIT.json</c> (image paths relative to the artifact folder), next to
/// <see cref="AnswerListFile"/> (the candidate answers, LAVIS's <c>answer_list.json</c>) and <c>vocab.txt</c> (covering
/// questions and answers). Opening checks every entry under the bad-data policy (see <see cref="VqaAnnotationReader"/>)
/// and keeps decoded images in memory within the cache budget, as <see cref="BlipDataset"/> does. Thread-safe for loading.
/// </summary>
public sealed class VqaDataset : IDisposable
{
    /// <summary>The folder of a dataset artifact that holds its VQA splits.</summary>
    public const string SplitFolder = "vqa";

    public const string SplitExtension = ".json";

    /// <summary>The candidate answers of a dataset artifact (a JSON list of strings), e.g. for answer ranking.</summary>
    public const string AnswerListFile = "answer_list.json";

    private readonly ImageCache _images;

    private VqaDataset(List<VqaSample> samples, ImageCache images, List<BadDataEntry> skipped)
    {
        Samples = samples;
        _images = images;
        Skipped = skipped;
    }

    /// <summary>One per question; <see cref="VqaSample.ImageId"/> indexes <see cref="ImagePaths"/>.</summary>
    public IReadOnlyList<VqaSample> Samples { get; }

    public int Count => Samples.Count;

    /// <summary>The distinct images, by image id.</summary>
    public IReadOnlyList<string> ImagePaths => _images.Paths;

    public int ImageCount => _images.Paths.Count;

    /// <summary>Entries left out under <see cref="BadDataPolicy.Skip"/>.</summary>
    public IReadOnlyList<BadDataEntry> Skipped { get; }

    /// <summary>The names of the VQA splits in dataset artifact <paramref name="folder"/> (ordinal order); empty when it has none.</summary>
    public static IReadOnlyList<string> Splits(string folder)
    {
        var directory = Path.Combine(folder, SplitFolder);
        return Directory.Exists(directory)
            ? [.. Directory.EnumerateFiles(directory, "*" + SplitExtension).Select(Path.GetFileNameWithoutExtension).OfType<string>().Order(StringComparer.Ordinal)]
            : [];
    }

    /// <summary>
    /// Opens VQA split <paramref name="split"/> of dataset artifact <paramref name="folder"/>, or, with no split named, its
    /// only one; <see cref="InvalidDataException"/> names the splits there are when there are none or several to choose from.
    /// </summary>
    public static VqaDataset OpenFolder(string folder, BadDataPolicy policy, string? split = null) => Open([SourceOf(folder, split)], policy);

    /// <summary>The source of split <paramref name="split"/> of <paramref name="folder"/>, or of its only split.</summary>
    public static VqaDatasetSource SourceOf(string folder, string? split = null)
    {
        var splits = Splits(folder);
        if (split is null)
        {
            return splits.Count == 1
                ? VqaDatasetSource.Split(folder, splits[0])
                : throw new InvalidDataException(splits.Count == 0
                    ? $"dataset '{folder}' has no VQA split (no {SplitFolder}/*{SplitExtension}); bind a dataset written by dataset.synthetic with vqa_questions above 0, or by dataset.import with format: vqa"
                    : $"dataset '{folder}' has several VQA splits ({string.Join(", ", splits)}); name the one to read");
        }

        return splits.Contains(split, StringComparer.Ordinal)
            ? VqaDatasetSource.Split(folder, split)
            : throw new InvalidDataException(
                $"dataset '{folder}' has no VQA split '{split}'; its VQA splits are: {(splits.Count == 0 ? "none" : string.Join(", ", splits))}");
    }

    /// <summary>The candidate answers of dataset artifact <paramref name="folder"/>, or null when it has no <see cref="AnswerListFile"/>.</summary>
    public static IReadOnlyList<string>? ReadAnswerList(string folder)
    {
        var path = Path.Combine(folder, AnswerListFile);
        if (!File.Exists(path))
        {
            return null;
        }

        using var document = AnnotationFiles.Parse(path, "an answer list (a JSON list of strings)");
        return document.RootElement.ValueKind == JsonValueKind.Array && document.RootElement.EnumerateArray().All(item => item.ValueKind == JsonValueKind.String)
            ? [.. document.RootElement.EnumerateArray().Select(item => item.GetString()!)]
            : throw new InvalidDataException($"{path}: the answer list must be a JSON list of strings");
    }

    /// <summary>
    /// Reads and checks every source, concatenated in order. Throws <see cref="BadDataException"/> on the first bad entry
    /// with <see cref="BadDataPolicy.Fail"/>; skips and counts them with <see cref="BadDataPolicy.Skip"/>.
    /// </summary>
    public static VqaDataset Open(IReadOnlyList<VqaDatasetSource> sources, BadDataPolicy policy, long cacheBytes = BlipDataset.DefaultCacheBytes)
    {
        var samples = new List<VqaSample>();
        var skipped = new List<BadDataEntry>();
        var sourceOf = new Dictionary<long, string>();
        using var images = new ImageCacheBuilder(cacheBytes);
        foreach (var source in sources)
        {
            var annotations = VqaAnnotationReader.Read(source.AnnotationFile, source.ImageRoot, policy, images.Check);
            foreach (var sample in annotations.Samples)
            {
                // Within a file the reader refuses a repeat; across files the ids must stay apart too (results are keyed by them).
                if (!sourceOf.TryAdd(sample.QuestionId, source.AnnotationFile))
                {
                    throw new InvalidDataException(
                        $"question id {sample.QuestionId} is in both {sourceOf[sample.QuestionId]} and {source.AnnotationFile}; question ids must be unique across the VQA splits read together");
                }
            }

            var offset = images.Count;
            images.Add(annotations.ImagePaths);
            samples.AddRange(annotations.Samples.Select(sample => sample with { ImageId = sample.ImageId + offset }));
            skipped.AddRange(annotations.Skipped);
        }

        return new VqaDataset(samples, images.Build(), skipped);
    }

    /// <summary>
    /// Writes image <paramref name="imageId"/> through <paramref name="transform"/> into <paramref name="destination"/>
    /// ([3, size, size]); <paramref name="epoch"/> and <paramref name="sampleIndex"/> pick a training crop.
    /// </summary>
    public void LoadImage(int imageId, ImageTransform transform, int epoch, int sampleIndex, Span<float> destination) =>
        _images.Load(imageId, transform, epoch, sampleIndex, destination);

    /// <summary>Images <paramref name="imageIds"/> through <paramref name="transform"/> as float32 [n, 3, size, size]; the caller disposes it.</summary>
    public torch.Tensor LoadImages(IReadOnlyList<int> imageIds, ImageTransform transform) => _images.LoadMany(imageIds, transform);

    public void Dispose() => _images.Dispose();
}
