using System.Text.Json;
using VisionLanguage.Data;
using VisionLanguage.Data.Synthetic;

namespace VisionLanguage.Tasks.Capfilt;

/// <summary>
/// The web captions a dataset records as corrupted (<see cref="SyntheticSplit.CorruptionFile"/> of a synthetic web
/// split), by image path and caption, compared after <see cref="BlipAnnotationReader.Normalize"/>.
/// </summary>
public sealed class CorruptedCaptions
{
    private readonly Dictionary<(string Image, string Caption), string?> _kinds;

    public CorruptedCaptions(IEnumerable<(string Image, string Caption)> pairs)
        : this(pairs.Select(pair => (pair.Image, pair.Caption, (string?)null)))
    {
    }

    /// <summary>Corrupted captions with the kind of corruption each got (unrelated, colour, shape, ...), where recorded.</summary>
    public CorruptedCaptions(IEnumerable<(string Image, string Caption, string? Kind)> pairs) =>
        _kinds = pairs.ToDictionary(pair => (pair.Image, BlipAnnotationReader.Normalize(pair.Caption)), pair => pair.Kind);

    public int Count => _kinds.Count;

    public bool Contains(string image, string caption) => _kinds.ContainsKey((image, BlipAnnotationReader.Normalize(caption)));

    /// <summary>The kind of corruption of a corrupted caption, or null when it is not corrupted or its kind was not recorded.</summary>
    public string? KindOf(string image, string caption) => _kinds.GetValueOrDefault((image, BlipAnnotationReader.Normalize(caption)));

    /// <summary>The corrupted captions recorded in <paramref name="datasetFolder"/>, or null when it records none (no corruption file).</summary>
    public static CorruptedCaptions? Read(string datasetFolder)
    {
        var path = Path.Combine(datasetFolder, SyntheticSplit.CorruptionFile);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var entries = document.RootElement.GetProperty("entries").EnumerateArray()
                .Select(entry => (
                    entry.GetProperty("image").GetString()!,
                    entry.GetProperty("caption").GetString()!,
                    entry.TryGetProperty("kind", out var kind) ? kind.GetString() : null))
                .ToList();
            return new CorruptedCaptions(entries);
        }
        catch (Exception exception) when (exception is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidDataException(
                $"{path} is not a corruption record (an object with \"entries\": [{{\"image\", \"caption\", ...}}]); remove it, or write it as dataset.synthetic does",
                exception);
        }
    }
}
