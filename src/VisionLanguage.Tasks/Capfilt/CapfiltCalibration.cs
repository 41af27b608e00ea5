using System.Text.Encodings.Web;
using System.Text.Json;
using VisionLanguage.Data;
using VisionLanguage.Tasks.Running;

namespace VisionLanguage.Tasks.Capfilt;

/// <summary>One pair of a clean calibration dataset and the filter's ITM match probability for it.</summary>
public sealed record CalibrationScore(string Image, string Caption, double Score);

/// <summary>
/// A threshold set without labels: the filter scores a clean dataset's true pairs (the <c>calibration</c> input of
/// <c>blip.capfilt</c>, e.g. the test split), and <c>clean_reject_share</c> q puts the threshold where a share q of
/// them falls below it. A filter's match probabilities drift with training length and seed while its ranking holds
/// (docs/results.md, rounds 10 and 11), so "reject about q of clean captions" means the same for every filter, where a
/// fixed probability does not. The scores are kept beside the candidates' as <see cref="FileName"/>, so a run given
/// earlier scores sets the threshold again without the filter.
/// </summary>
public static class CapfiltCalibration
{
    public const string FileName = "calibration-scores.json";

    private const int ImagesPerBatch = 128;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// The threshold that rejects a share <paramref name="share"/> of <paramref name="scores"/>: with the n scores in
    /// ascending order, the (⌊q·n⌋ + 1)-th. Exactly ⌊q·n⌋ of them fall below it, or fewer where scores tie with it.
    /// </summary>
    public static double Threshold(IReadOnlyCollection<double> scores, double share)
    {
        if (scores.Count == 0)
        {
            throw new InvalidDataException("the calibration dataset holds no image-caption pairs; bind a dataset with captions");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(share);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(share, 1.0);
        // A small allowance so that, e.g., 0.29 × 100 (28.999999999999996 in binary) rejects 29 pairs, as written.
        var rejected = (int)Math.Floor((share * scores.Count) + 1e-9);
        return scores.Order().ElementAt(rejected);
    }

    /// <summary>The share of <paramref name="scores"/> below <paramref name="threshold"/>: the clean pairs it would reject.</summary>
    public static double RejectedShare(IReadOnlyCollection<double> scores, double threshold) =>
        (double)scores.Count(score => score < threshold) / scores.Count;

    /// <summary>Scores every image-caption pair of the dataset in <paramref name="folder"/> with <paramref name="filter"/>; <paramref name="pulse"/> beats per batch.</summary>
    public static IReadOnlyList<CalibrationScore> Score(CapfiltFilter filter, string folder, TaskPulse pulse = default)
    {
        using var dataset = BlipDataset.OpenFolder(folder, BadDataPolicy.Fail);
        var names = BlipAnnotationReader.Read(Path.Combine(folder, BlipAnnotationReader.FileName), folder, BadDataPolicy.Fail).ImageNames;
        var captionsOf = dataset.Samples.ToLookup(sample => sample.ImageId, sample => sample.Caption);
        var scores = new List<CalibrationScore>(dataset.Count);
        for (var start = 0; start < dataset.ImageCount; start += ImagesPerBatch)
        {
            var imageIds = Enumerable.Range(start, Math.Min(ImagesPerBatch, dataset.ImageCount - start)).ToList();
            var pairs = imageIds.SelectMany((imageId, row) => captionsOf[imageId].Select(caption => (row, caption))).ToList();
            using var images = filter.LoadImages(dataset, imageIds);
            var values = filter.Score(images, pairs, pulse);
            scores.AddRange(pairs.Select((pair, i) => new CalibrationScore(names[imageIds[pair.row]], pair.caption, values[i])));
        }

        return scores;
    }

    public static void Write(string path, IReadOnlyList<CalibrationScore> scores) => File.WriteAllText(path, JsonSerializer.Serialize(scores, Json));

    /// <summary>The calibration scores kept in the scores folder <paramref name="folder"/>, or null when it has none; <paramref name="input"/> names it in errors.</summary>
    public static IReadOnlyList<CalibrationScore>? Read(string folder, string input)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        List<CalibrationScore>? scores;
        try
        {
            scores = JsonSerializer.Deserialize<List<CalibrationScore>>(File.ReadAllText(path), Json);
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException(
                $"{input}: {FileName} is not a list of {{\"image\", \"caption\", \"score\"}} ({exception.Message}); bind the 'scores' output of a blip.capfilt stage", exception);
        }

        if (scores is null || scores.Count == 0 || scores.Any(score => score is null || double.IsNaN(score.Score) || score.Score is < 0 or > 1))
        {
            throw new InvalidDataException(
                $"{input}: {FileName} must be a non-empty list of pairs, each with a score in [0, 1]; bind the 'scores' output of a blip.capfilt stage that had input 'calibration'");
        }

        return scores;
    }
}
