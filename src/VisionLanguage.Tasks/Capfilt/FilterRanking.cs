namespace VisionLanguage.Tasks.Capfilt;

/// <summary>
/// How well the filter's scores rank the corrupted web captions below the clean ones, whatever the threshold: a
/// filter's match probabilities drift from run to run, so two filters compared at one threshold can swap places
/// (docs/results.md, rounds 10 and 11), while these do not depend on where the threshold sits.
/// <list type="bullet">
/// <item><see cref="AveragePrecision"/>: precision at finding corrupted captions averaged over recall, the web
/// captions flagged lowest score first; captions with equal scores are flagged together (as scikit-learn's
/// <c>average_precision_score</c> does).</item>
/// <item><see cref="BreakEven"/>: precision among the C lowest-scored web captions, C being the number corrupted.
/// Flagging exactly C makes precision and recall equal, so this is where they cross (R-precision); equal scores at the
/// boundary are taken in the order the candidates come.</item>
/// <item><see cref="BreakEvenScore"/>: the highest score among those C, so a threshold just above it flags them.</item>
/// </list>
/// </summary>
public sealed record FilterRanking(double AveragePrecision, double BreakEven, double BreakEvenScore)
{
    /// <summary>The ranking of <paramref name="candidates"/>' web captions, or null when none of them is corrupted.</summary>
    public static FilterRanking? Of(IReadOnlyList<CapfiltCandidate> candidates, CorruptedCaptions corrupted)
    {
        var web = candidates
            .Where(candidate => candidate.Source == CaptionSource.Web)
            .Select(candidate => (candidate.Score, IsCorrupted: corrupted.Contains(candidate.Image, candidate.Caption)))
            .OrderBy(caption => caption.Score) // stable: equal scores keep the candidates' order
            .ToList();
        var total = web.Count(caption => caption.IsCorrupted);
        if (total == 0)
        {
            return null;
        }

        var averagePrecision = 0.0;
        var found = 0;
        var foundBefore = 0;
        for (var i = 0; i < web.Count; i++)
        {
            found += web[i].IsCorrupted ? 1 : 0;
            if (i == web.Count - 1 || web[i + 1].Score > web[i].Score)
            {
                // Flagging every caption up to this score raises recall by (found − foundBefore) / total, at precision found / (i + 1).
                averagePrecision += (double)(found - foundBefore) / total * found / (i + 1);
                foundBefore = found;
            }
        }

        var lowest = web.Take(total).ToList();
        return new FilterRanking(averagePrecision, (double)lowest.Count(caption => caption.IsCorrupted) / total, lowest[^1].Score);
    }
}
