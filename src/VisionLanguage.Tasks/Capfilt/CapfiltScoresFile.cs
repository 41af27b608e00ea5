using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VisionLanguage.Tasks.Capfilt;

/// <summary>
/// <c>scores.json</c>, the <c>scores</c> output of <c>blip.capfilt</c> and each of its shard checkpoints: every
/// candidate pair with its ITM match probability, as a JSON list of <c>{"image", "caption", "source", "score"}</c>
/// (<c>source</c> is <c>web</c> or <c>synthetic</c>), in web-image order, web caption before synthetic ones. A synthetic
/// caption may be empty (the captioner emitted nothing printable); it scores 0.
/// </summary>
public static class CapfiltScoresFile
{
    public const string FileName = "scores.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    public static void Write(string path, IReadOnlyList<CapfiltCandidate> candidates) =>
        File.WriteAllText(path, JsonSerializer.Serialize(candidates, Json));

    /// <summary>Reads a scores file, checking every entry; <paramref name="input"/> names it in errors.</summary>
    public static IReadOnlyList<CapfiltCandidate> Read(string path, string input)
    {
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"{input} has no {FileName}; bind the 'scores' output of an earlier blip.capfilt stage");
        }

        List<CapfiltCandidate>? candidates;
        try
        {
            candidates = JsonSerializer.Deserialize<List<CapfiltCandidate>>(File.ReadAllText(path), Json);
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException(
                $"{input}: {FileName} is not a list of {{\"image\", \"caption\", \"source\": \"web\"|\"synthetic\", \"score\"}} ({exception.Message}); bind the 'scores' output of a blip.capfilt stage",
                exception);
        }

        if (candidates is null)
        {
            throw new InvalidDataException($"{input}: {FileName} holds null, not a list of scored candidates");
        }

        for (var i = 0; i < candidates.Count; i++)
        {
            var candidate = candidates[i];
            if (candidate is null || string.IsNullOrWhiteSpace(candidate.Image) || candidate.Caption is null ||
                (candidate.Source == CaptionSource.Web && string.IsNullOrWhiteSpace(candidate.Caption)) ||
                !Enum.IsDefined(candidate.Source) || double.IsNaN(candidate.Score) || candidate.Score is < 0 or > 1)
            {
                throw new InvalidDataException(
                    $"{input}: entry {i} of {FileName} needs a non-empty image, a caption (non-empty for web), source web or synthetic, and a score in [0, 1]");
            }
        }

        return candidates;
    }
}
