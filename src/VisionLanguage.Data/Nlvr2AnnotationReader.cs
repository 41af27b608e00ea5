using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VisionLanguage.Data;

/// <summary>
/// One NLVR2 example: a statement about a pair of images and whether it is true. <see cref="LeftImageId"/> and
/// <see cref="RightImageId"/> index the images of its dataset; <see cref="Kind"/> is optional (the synthetic dataset
/// writes what its statement is about).
/// </summary>
public sealed record Nlvr2Sample(int Index, int LeftImageId, int RightImageId, string Sentence, bool Label)
{
    public string? Kind { get; init; }
}

/// <summary>The usable content of an NLVR2 annotation file: its distinct images, one sample per usable entry, and what was skipped.</summary>
public sealed record Nlvr2Annotations
{
    /// <summary>Each image's path as the annotation names it, relative to the image root (normalised to '/').</summary>
    public required IReadOnlyList<string> ImageNames { get; init; }

    /// <summary>Each image's full path on this machine.</summary>
    public required IReadOnlyList<string> ImagePaths { get; init; }

    public required IReadOnlyList<Nlvr2Sample> Samples { get; init; }

    public required IReadOnlyList<BadDataEntry> Skipped { get; init; }
}

/// <summary>
/// An entry of an NLVR2 annotation file in the format BLIP and LAVIS read (<c>nlvr_train.json</c>, <c>nlvr_dev.json</c>):
/// <c>{"images": ["left.png", "right.png"], "sentence": "...", "label": "True"}</c>, and optionally <c>"kind"</c>.
/// </summary>
public sealed record Nlvr2AnnotationEntry(IReadOnlyList<string> Images, string Sentence, string Label)
{
    public string? Kind { get; init; }

    /// <summary>The label as the files write it: <c>"True"</c> or <c>"False"</c>.</summary>
    public static string LabelText(bool label) => label ? "True" : "False";
}

/// <summary>
/// Reads an NLVR2 annotation file in the format BLIP uses (<c>BLIP/data/nlvr_dataset.py</c>, LAVIS <c>NLVRDataset</c>):
/// a JSON list of <c>{"images": [LEFT, RIGHT], "sentence": "...", "label": "True" | "False"}</c> (a JSON boolean label is
/// taken too; an optional <c>"kind"</c> string is kept; other keys, such as NLVR2's <c>"identifier"</c>, are ignored).
/// Sentences are trimmed, inner white space collapsed. Every entry is checked: exactly two image paths that stay inside
/// the image root and name files that exist (and, with an image check, decode), a non-empty sentence, a label. A bad
/// entry fails the read (<see cref="BadDataException"/>) or is skipped and counted, per <see cref="BadDataPolicy"/>.
/// </summary>
public static class Nlvr2AnnotationReader
{
    private const string Shape = "{\"images\": [LEFT, RIGHT], \"sentence\": ..., \"label\": \"True\" or \"False\"}";

    public static Nlvr2Annotations Read(
        string annotationFile, string imageRoot, BadDataPolicy policy, Func<string, string?>? checkImage = null, CancellationToken cancellationToken = default)
    {
        using var document = AnnotationFiles.Parse(annotationFile, "an NLVR2 annotation JSON (BLIP's nlvr_train.json format)");
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException(
                $"{annotationFile}: an NLVR2 annotation file must be a JSON list of {Shape} objects (BLIP's format), not a JSON {document.RootElement.ValueKind}");
        }

        var images = new AnnotationImages(imageRoot, checkImage);
        var samples = new List<Nlvr2Sample>();
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
                Bad(new BadDataEntry(annotationFile, index, null, null, $"is a JSON {element.ValueKind}, not an object {Shape}"));
                continue;
            }

            var problem = EntryProblem(element, out var paths, out var sentence, out var label, out var kind);
            if (problem is not null)
            {
                Bad(new BadDataEntry(annotationFile, index, paths?.FirstOrDefault(), null, problem));
                continue;
            }

            var left = images.Check(paths![0], out var leftProblem);
            var right = left is null ? null : images.Check(paths[1], out leftProblem);
            if (left is null || right is null)
            {
                Bad(new BadDataEntry(annotationFile, index, left is null ? paths[0] : paths[1], null, leftProblem!));
                continue;
            }

            samples.Add(new Nlvr2Sample(samples.Count, images.Use(left), images.Use(right), sentence!, label) { Kind = kind });
        }

        return new Nlvr2Annotations { ImageNames = images.Names, ImagePaths = images.Paths, Samples = samples, Skipped = skipped };
    }

    private static string? EntryProblem(JsonElement element, out List<string>? paths, out string? sentence, out bool label, out string? kind)
    {
        paths = null;
        sentence = null;
        label = false;
        kind = null;
        if (!element.TryGetProperty("images", out var imagesElement) || imagesElement.ValueKind != JsonValueKind.Array)
        {
            return "has no \"images\" list; give the pair's two image paths, e.g. \"images\": [\"left.png\", \"right.png\"]";
        }

        paths = [.. imagesElement.EnumerateArray().Select(item => item.ValueKind == JsonValueKind.String ? item.GetString()! : "")];
        if (paths.Count != 2 || paths.Any(string.IsNullOrWhiteSpace))
        {
            return $"has {paths.Count} image entries in \"images\"; NLVR2 needs exactly two non-empty paths, the left image and the right one";
        }

        if (!element.TryGetProperty("sentence", out var sentenceElement) || sentenceElement.ValueKind != JsonValueKind.String ||
            BlipAnnotationReader.Normalize(sentenceElement.GetString()!) is not { Length: > 0 } text)
        {
            return "has no sentence (\"sentence\" must be a non-empty string)";
        }

        sentence = text;
        if (!element.TryGetProperty("label", out var labelElement))
        {
            return "has no label (\"label\" must be \"True\" or \"False\")";
        }

        switch (labelElement.ValueKind)
        {
            case JsonValueKind.True or JsonValueKind.False:
                label = labelElement.GetBoolean();
                break;
            case JsonValueKind.String when labelElement.GetString() is "True" or "False":
                label = labelElement.GetString() == "True";
                break;
            default:
                return $"has label {labelElement.GetRawText()}; it must be \"True\" or \"False\" (as NLVR2 writes it) or a JSON boolean";
        }

        if (element.TryGetProperty("kind", out var kindElement) && kindElement.ValueKind != JsonValueKind.Null)
        {
            if (kindElement.ValueKind != JsonValueKind.String)
            {
                return $"has \"kind\" as a JSON {kindElement.ValueKind}; it must be a string when given";
            }

            kind = kindElement.GetString();
        }

        return null;
    }
}

/// <summary>Writes NLVR2 splits in the files <see cref="Nlvr2Dataset"/> and <see cref="Nlvr2AnnotationReader"/> read.</summary>
public static class Nlvr2AnnotationWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes split <paramref name="split"/> of dataset artifact <paramref name="folder"/> (<c>nlvr2/SPLIT.json</c>, folder created).</summary>
    public static async Task WriteSplitAsync(string folder, string split, IEnumerable<Nlvr2AnnotationEntry> entries, CancellationToken cancellationToken)
    {
        if (split.Length == 0 || split.IndexOfAny([.. Path.GetInvalidFileNameChars(), '/', '\\']) >= 0 || split is "." or "..")
        {
            throw new ArgumentException($"'{split}' cannot name an NLVR2 split; use a file name without a folder", nameof(split));
        }

        var path = Nlvr2DatasetSource.Split(folder, split).AnnotationFile;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var stream = File.Create(path);
        await JsonSerializer.SerializeAsync(stream, entries, Json, cancellationToken);
    }
}
