using System.Text.Json;

namespace VisionLanguage.Tasks.Capfilt;

/// <summary>
/// The filter's precision and recall at every threshold of a grid, written as <c>filter-curve.json</c> beside the
/// scores when the web dataset records its corrupted captions, so one run shows what any threshold would have done
/// (the kept pairs still follow the stage's own threshold).
/// </summary>
public static class CapfiltFilterCurve
{
    public const string FileName = "filter-curve.json";

    /// <summary>0.05, 0.10, ..., 0.95.</summary>
    public static IReadOnlyList<double> Thresholds { get; } = Enumerable.Range(1, 19).Select(step => step / 20.0).ToArray();

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static FilterOutcome At(IReadOnlyList<CapfiltCandidate> candidates, CorruptedCaptions corrupted, double threshold) =>
        Compute(candidates, corrupted, [threshold])[0];

    public static IReadOnlyList<FilterOutcome> Compute(IReadOnlyList<CapfiltCandidate> candidates, CorruptedCaptions corrupted, IReadOnlyList<double> thresholds)
    {
        var web = candidates
            .Where(candidate => candidate.Source == CaptionSource.Web)
            .Select(candidate => (candidate.Score, IsCorrupted: corrupted.Contains(candidate.Image, candidate.Caption), Kind: corrupted.KindOf(candidate.Image, candidate.Caption)))
            .ToList();
        var corruptedCount = web.Count(caption => caption.IsCorrupted);
        var kinds = web.Where(caption => caption.Kind is not null).GroupBy(caption => caption.Kind!, StringComparer.Ordinal).ToList();
        return thresholds.Select(threshold => new FilterOutcome(
                threshold,
                Flagged: web.Count(caption => caption.Score < threshold),
                FlaggedCorrupted: web.Count(caption => caption.IsCorrupted && caption.Score < threshold),
                corruptedCount,
                kinds.ToDictionary(kind => kind.Key, kind => (double)kind.Count(caption => caption.Score < threshold) / kind.Count(), StringComparer.Ordinal)))
            .ToList();
    }

    public static void Write(string path, IReadOnlyList<FilterOutcome> curve) =>
        File.WriteAllText(path, JsonSerializer.Serialize(curve, Json));

    /// <summary>One line for the log: "0.05 –/0.00, 0.10 0.98/0.31, ..." (precision/recall at each threshold).</summary>
    public static string Describe(IReadOnlyList<FilterOutcome> curve) =>
        string.Join(", ", curve.Select(outcome => FormattableString.Invariant($"{outcome.Threshold:0.00} {Format(outcome.Precision)}/{Format(outcome.Recall)}")));

    private static string Format(double? value) => value is { } number ? number.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) : "–";
}
