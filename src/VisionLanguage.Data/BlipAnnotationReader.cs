using System.Text.Json;

namespace VisionLanguage.Data;

/// <summary>
/// One caption of one image: the unit the data pipeline samples. <see cref="ImageId"/> indexes the image in its
/// dataset and is shared by every caption of the image.
/// </summary>
public sealed record BlipSample(int ImageId, string Caption);

/// <summary>
/// The usable content of a BLIP annotation file: its distinct images in order of first appearance (an image named
/// by several entries is one image), one sample per caption, and the entries or captions that were skipped.
/// </summary>
public sealed record BlipAnnotations
{
    /// <summary>Each image's path as the annotation names it, relative to the image root (normalised to '/').</summary>
    public required IReadOnlyList<string> ImageNames { get; init; }

    /// <summary>Each image's full path on this machine.</summary>
    public required IReadOnlyList<string> ImagePaths { get; init; }

    /// <summary>The captions of each image, as (entry index, captions) in file order; what an import writes back.</summary>
    public required IReadOnlyList<BlipAnnotationEntry> Entries { get; init; }

    public required IReadOnlyList<BlipSample> Samples { get; init; }

    /// <summary>Entries (or single captions of a caption list) left out under <see cref="BadDataPolicy.Skip"/>.</summary>
    public required IReadOnlyList<BadDataEntry> Skipped { get; init; }
}

/// <summary>A usable entry: its image and its non-empty captions; <see cref="IsList"/> when the file gave a caption list.</summary>
public sealed record BlipAnnotationEntry(int Entry, int ImageId, IReadOnlyList<string> Captions, bool IsList);

/// <summary>
/// Reads a BLIP-format annotation file, a JSON list of <c>{"image": "relative/path.jpg", "caption": "..."}</c>
/// where the caption may also be a list of captions (one sample each). Captions are trimmed, with inner runs of
/// white space collapsed. Every entry is checked: its image path stays inside the image root and names a file
/// that exists (and, with an image check, decodes), its captions are non-empty. A bad entry fails the read
/// (<see cref="BadDataException"/>) or is skipped and counted, per <see cref="BadDataPolicy"/>.
/// </summary>
public static class BlipAnnotationReader
{
    /// <summary>The annotation file's name inside a dataset artifact.</summary>
    public const string FileName = "annotations.json";

    /// <summary>
    /// Reads <paramref name="annotationFile"/>, whose image paths are relative to <paramref name="imageRoot"/>.
    /// <paramref name="checkImage"/> is called once per distinct image file that exists, with its full path, and
    /// returns a problem (e.g. "cannot be decoded ...") or null; without it images are only checked to exist.
    /// </summary>
    public static BlipAnnotations Read(
        string annotationFile, string imageRoot, BadDataPolicy policy, Func<string, string?>? checkImage = null, CancellationToken cancellationToken = default)
    {
        using var document = AnnotationFiles.Parse(annotationFile, "a BLIP annotation JSON");
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException(
                $"{annotationFile}: the annotation file must be a JSON list of {{\"image\": ..., \"caption\": ...}} objects, not a JSON {document.RootElement.ValueKind}");
        }

        var images = new AnnotationImages(imageRoot, checkImage);
        var entries = new List<BlipAnnotationEntry>();
        var samples = new List<BlipSample>();
        var skipped = new List<BadDataEntry>();

        void Bad(BadDataEntry bad)
        {
            if (policy == BadDataPolicy.Fail)
            {
                throw new BadDataException(bad);
            }

            skipped.Add(bad);
        }

        var index = -1;
        foreach (var element in document.RootElement.EnumerateArray())
        {
            cancellationToken.ThrowIfCancellationRequested();
            index++;
            if (element.ValueKind != JsonValueKind.Object)
            {
                Bad(new BadDataEntry(annotationFile, index, null, null, $"is a JSON {element.ValueKind}, not an object with \"image\" and \"caption\""));
                continue;
            }

            if (!element.TryGetProperty("image", out var imageElement) || imageElement.ValueKind != JsonValueKind.String ||
                string.IsNullOrWhiteSpace(imageElement.GetString()))
            {
                Bad(new BadDataEntry(annotationFile, index, null, null, "has no image path (\"image\" must be a non-empty string)"));
                continue;
            }

            var image = imageElement.GetString()!;
            var captions = ReadCaptions(element, out var isList, out var captionProblem);
            if (captionProblem is not null)
            {
                Bad(new BadDataEntry(annotationFile, index, image, null, captionProblem));
                continue;
            }

            if (images.Check(image, out var imageProblem) is not { } fullPath)
            {
                Bad(new BadDataEntry(annotationFile, index, image, null, imageProblem!));
                continue;
            }

            var kept = new List<string>(captions.Count);
            for (var c = 0; c < captions.Count; c++)
            {
                var caption = Normalize(captions[c]);
                if (caption.Length == 0)
                {
                    Bad(new BadDataEntry(annotationFile, index, image, isList ? c : null, "the caption is empty"));
                    continue;
                }

                kept.Add(caption);
            }

            if (kept.Count == 0)
            {
                continue;
            }

            var imageId = images.Use(fullPath);
            entries.Add(new BlipAnnotationEntry(index, imageId, kept, isList));
            samples.AddRange(kept.Select(caption => new BlipSample(imageId, caption)));
        }

        return new BlipAnnotations { ImageNames = images.Names, ImagePaths = images.Paths, Entries = entries, Samples = samples, Skipped = skipped };
    }

    /// <summary>Trims and collapses white space, as the reader does to every caption.</summary>
    public static string Normalize(string caption) =>
        string.Join(' ', caption.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    private static List<string> ReadCaptions(JsonElement element, out bool isList, out string? problem)
    {
        isList = false;
        problem = null;
        if (!element.TryGetProperty("caption", out var caption))
        {
            problem = "has no caption (\"caption\" must be a string or a list of strings)";
            return [];
        }

        switch (caption.ValueKind)
        {
            case JsonValueKind.String:
                return [caption.GetString()!];
            case JsonValueKind.Array:
                isList = true;
                var captions = new List<string>();
                foreach (var item in caption.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        problem = $"has a caption list holding a JSON {item.ValueKind}; every caption must be a string";
                        return [];
                    }

                    captions.Add(item.GetString()!);
                }

                if (captions.Count == 0)
                {
                    problem = "has an empty caption list";
                }

                return captions;
            default:
                problem = $"has a caption that is a JSON {caption.ValueKind}, not a string or a list of strings";
                return [];
        }
    }
}
