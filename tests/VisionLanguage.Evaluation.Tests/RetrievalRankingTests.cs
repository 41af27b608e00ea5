
namespace VisionLanguage.Evaluation.Tests;

public sealed class RetrievalRankingTests
{
    // Three queries, four candidates; query q's correct candidate is q (candidate 3 belongs to no query).
    private static readonly double[][] Similarity =
    [
        [0.1, 0.9, 0.8, 0.0],
        [0.7, 0.2, 0.6, 0.5],
        [0.3, 0.4, 0.1, 0.2],
    ];

    [Fact]
    public void Rerank_scores_the_itc_top_k_with_itm_plus_itc_and_leaves_the_rest_unranked()
    {
        var asked = new List<(int Query, int[] Candidates)>();
        var itm = new Dictionary<(int, int), double>
        {
            [(0, 1)] = -1.0, [(0, 2)] = -1.0,
            [(1, 0)] = -2.0, [(1, 2)] = 0.5,
            [(2, 1)] = 0.0, [(2, 0)] = 1.0,
        };

        var scores = RetrievalRanking.Rerank(Similarity, topK: 2, (query, candidates) =>
        {
            asked.Add((query, candidates));
            return [.. candidates.Select(candidate => itm[(query, candidate)])];
        });

        // ITC top-2 of each query, in descending similarity.
        Assert.Equal([1, 2], asked[0].Candidates);
        Assert.Equal([0, 2], asked[1].Candidates);
        Assert.Equal([1, 0], asked[2].Candidates);
        // Query 0: 0.9 − 1 = −0.1, 0.8 − 1 = −0.2; candidates 0 and 3 unranked.
        Assert.Equal([-100.0, -0.1, -0.2, -100.0], scores[0], new ToleranceComparer(1e-12));
        // Query 1: 0.7 − 2 = −1.3, 0.6 + 0.5 = 1.1.
        Assert.Equal([-1.3, -100.0, 1.1, -100.0], scores[1], new ToleranceComparer(1e-12));
        // Query 2: 0.3 + 1 = 1.3, 0.4 + 0 = 0.4.
        Assert.Equal([1.3, 0.4, -100.0, -100.0], scores[2], new ToleranceComparer(1e-12));
    }

    [Fact]
    public void Ranks_follow_the_reranked_scores_not_the_itc_order()
    {
        var itm = new[] { new[] { -1.0, -1.0 }, [-2.0, 0.5], [0.0, 1.0] };
        var scores = RetrievalRanking.Rerank(Similarity, topK: 2, (query, _) => itm[query]);

        var ranks = RetrievalRanking.Ranks(scores, (query, candidate) => query == candidate);

        // Query 0: order 1, 2, then the unranked 0 and 3 by index: candidate 0 is third (rank 2).
        // Query 1: ITM lifts candidate 2 (1.1) above candidate 1's −100 and drops 0 (−1.3) to second: 2, 0, 1, 3 → rank 2.
        // Query 2: candidate 2 was outside the top-2, so it follows 0 (1.3) and 1 (0.4): rank 2.
        Assert.Equal([2, 2, 2], ranks);
    }

    [Fact]
    public void Ties_are_broken_by_candidate_index_and_recall_counts_ranks_below_each_cutoff()
    {
        double[][] scores = [[0.5, 0.5, 0.1], [0.2, 0.9, 0.2], [0.3, 0.3, 0.3]];

        var ranks = RetrievalRanking.Ranks(scores, (query, candidate) => candidate == 1 || (query == 2 && candidate == 2));

        Assert.Equal([1, 0, 1], ranks);
        Assert.Equal([1.0 / 3, 1.0, 1.0], RetrievalRanking.Recall(ranks, [1, 2, 10]));
    }

    [Fact]
    public void A_top_k_above_the_candidate_count_reranks_every_candidate()
    {
        var scores = RetrievalRanking.Rerank([[0.2, 0.1]], topK: 16, (_, candidates) => [.. candidates.Select(candidate => candidate == 1 ? 1.0 : 0.0)]);

        Assert.Equal([0.2, 1.1], scores[0], new ToleranceComparer(1e-12));
        Assert.Equal([0], RetrievalRanking.Ranks(scores, (_, candidate) => candidate == 1));
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
