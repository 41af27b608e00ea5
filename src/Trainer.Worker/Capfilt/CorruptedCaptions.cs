using System.Text.Json;
using Trainer.Worker.Data;
using Trainer.Worker.Data.Synthetic;

namespace Trainer.Worker.Capfilt;

/// <summary>
/// The web captions a dataset records as corrupted (<see cref="SyntheticSplit.CorruptionFile"/> of a synthetic web
/// split), by image path and caption, compared after <see cref="BlipAnnotationReader.Normalize"/>.
/// </summary>
public sealed class CorruptedCaptions
{
    private readonly HashSet<(string Image, string Caption)> _pairs;

    public CorruptedCaptions(IEnumerable<(string Image, string Caption)> pairs) =>
        _pairs = [.. pairs.Select(pair => (pair.Image, BlipAnnotationReader.Normalize(pair.Caption)))];

    public int Count => _pairs.Count;

    public bool Contains(string image, string caption) => _pairs.Contains((image, BlipAnnotationReader.Normalize(caption)));

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
                .Select(entry => (entry.GetProperty("image").GetString()!, entry.GetProperty("caption").GetString()!))
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
