namespace VisionLanguage.Tasks.Capfilt;

/// <summary>
/// The filter's decision over scored candidates: pairs whose ITM match probability is at or above the threshold are
/// kept (never one with an empty caption, which no dataset may hold). Metrics: the threshold, candidates and kept pairs by source, the kept share of web and of synthetic captions, the share of clean calibration pairs rejected where they were scored, and, when
/// the web dataset records which captions were corrupted, the filter's precision and recall at finding them (a web
/// caption below the threshold counts as found corrupted), its recall for each kind of corruption recorded, and how
/// well its scores rank the corrupted captions first, whatever the threshold (<see cref="FilterRanking"/>).
/// </summary>
public sealed record CapfiltSelection(IReadOnlyList<CapfiltCandidate> Kept, IReadOnlyDictionary<string, double> Metrics)
{
    /// <summary>
    /// Applies <paramref name="threshold"/> to <paramref name="candidates"/>; <paramref name="corrupted"/> holds the
    /// corrupted web captions (image path and caption) when the web dataset records them, else null. Precision is left
    /// out when no web caption was flagged, recall when none was corrupted: neither is defined then. With the filter's
    /// scores of a clean <paramref name="calibration"/> dataset, the share of them the threshold rejects is reported too.
    /// </summary>
    public static CapfiltSelection Apply(
        IReadOnlyList<CapfiltCandidate> candidates, double threshold, CorruptedCaptions? corrupted, IReadOnlyList<double>? calibration = null)
    {
        var kept = candidates.Where(candidate => candidate.Score >= threshold && !string.IsNullOrWhiteSpace(candidate.Caption)).ToList();
        var web = candidates.Count(candidate => candidate.Source == CaptionSource.Web);
        var synthetic = candidates.Count - web;
        var keptWeb = kept.Count(candidate => candidate.Source == CaptionSource.Web);
        var keptSynthetic = kept.Count - keptWeb;
        var metrics = new Dictionary<string, double>
        {
            ["threshold"] = threshold,
            ["candidates_web"] = web,
            ["candidates_synthetic"] = synthetic,
            ["kept_web"] = keptWeb,
            ["kept_synthetic"] = keptSynthetic,
            ["kept_pairs"] = kept.Count,
        };
        if (web > 0)
        {
            metrics["kept_web_share"] = (double)keptWeb / web;
        }

        if (synthetic > 0)
        {
            metrics["kept_synthetic_share"] = (double)keptSynthetic / synthetic;
        }

        if (calibration is { Count: > 0 })
        {
            metrics["calibration_pairs"] = calibration.Count;
            metrics["calibration_rejected_share"] = CapfiltCalibration.RejectedShare(calibration, threshold);
        }

        if (corrupted is not null)
        {
            var outcome = CapfiltFilterCurve.At(candidates, corrupted, threshold);
            metrics["corrupted_web"] = outcome.Corrupted;
            metrics["flagged_web"] = outcome.Flagged;
            metrics["flagged_corrupted"] = outcome.FlaggedCorrupted;
            if (outcome.Precision is { } precision)
            {
                metrics["filter_precision"] = precision;
            }

            if (outcome.Recall is { } recall)
            {
                metrics["filter_recall"] = recall;
            }

            // Which corruptions the filter finds, where the record says what each was: filter_recall_colour, ...
            foreach (var (kind, recallOfKind) in outcome.RecallByKind)
            {
                metrics[$"filter_recall_{kind}"] = recallOfKind;
            }

            if (FilterRanking.Of(candidates, corrupted) is { } ranking)
            {
                metrics["filter_average_precision"] = ranking.AveragePrecision;
                metrics["filter_break_even"] = ranking.BreakEven;
                metrics["filter_break_even_score"] = ranking.BreakEvenScore;
            }
        }

        return new CapfiltSelection(kept, metrics);
    }
}
