namespace VisionLanguage.Evaluation;

/// <summary>
/// The ranking arithmetic of BLIP's retrieval evaluation (LAVIS <c>compute_sim_matrix</c> and
/// <c>_report_metrics</c>), on plain score matrices: each query's top-k candidates by ITC similarity are re-scored as
/// ITM score + ITC similarity, every other candidate gets <see cref="Unranked"/>; a query's rank is the position of its
/// best-placed correct candidate by descending score (ties broken by candidate index).
/// </summary>
public static class RetrievalRanking
{
    /// <summary>The score of a candidate outside a query's top-k (LAVIS fills the matrix with −100).</summary>
    public const double Unranked = -100.0;

    /// <summary>
    /// Re-scores <paramref name="similarity"/> (queries × candidates, ITC): for each query its <paramref name="topK"/>
    /// most similar candidates (ties by index) get <paramref name="matchScore"/>(query, candidates)[i] + similarity, the
    /// rest <see cref="Unranked"/>.
    /// </summary>
    public static double[][] Rerank(IReadOnlyList<double[]> similarity, int topK, Func<int, int[], double[]> matchScore)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        var scores = new double[similarity.Count][];
        for (var query = 0; query < similarity.Count; query++)
        {
            var row = similarity[query];
            var candidates = Order(row).Take(Math.Min(topK, row.Length)).ToArray();
            var match = matchScore(query, candidates);
            if (match.Length != candidates.Length)
            {
                throw new InvalidOperationException($"the ITM scorer returned {match.Length} scores for {candidates.Length} candidates");
            }

            var rescored = Enumerable.Repeat(Unranked, row.Length).ToArray();
            for (var i = 0; i < candidates.Length; i++)
            {
                rescored[candidates[i]] = match[i] + row[candidates[i]];
            }

            scores[query] = rescored;
        }

        return scores;
    }

    /// <summary>The 0-based rank of each query's best-placed correct candidate; <paramref name="isCorrect"/>(query, candidate).</summary>
    public static int[] Ranks(IReadOnlyList<double[]> scores, Func<int, int, bool> isCorrect)
    {
        var ranks = new int[scores.Count];
        for (var query = 0; query < scores.Count; query++)
        {
            var position = 0;
            var found = false;
            foreach (var candidate in Order(scores[query]))
            {
                if (isCorrect(query, candidate))
                {
                    found = true;
                    break;
                }

                position++;
            }

            ranks[query] = found
                ? position
                : throw new InvalidOperationException($"query {query} has no correct candidate; every query needs one");
        }

        return ranks;
    }

    /// <summary>The share of <paramref name="ranks"/> below each cutoff (recall@1 is the share of rank 0).</summary>
    public static double[] Recall(IReadOnlyList<int> ranks, IReadOnlyList<int> cutoffs) =>
        [.. cutoffs.Select(cutoff => ranks.Count == 0 ? 0.0 : (double)ranks.Count(rank => rank < cutoff) / ranks.Count)];

    private static IEnumerable<int> Order(double[] row) =>
        Enumerable.Range(0, row.Length).OrderByDescending(candidate => row[candidate]).ThenBy(candidate => candidate);
}
