using VisionLanguage.Tasks.Capfilt;

namespace VisionLanguage.Tasks.Tests.Capfilt;

public sealed class FilterRankingTests
{
    [Fact]
    public void Average_precision_and_the_break_even_follow_the_web_scores_from_the_lowest()
    {
        // Web scores, lowest first: 0.20 (corrupted), 0.40 (clean), 0.60 (corrupted), 0.90 (clean); the synthetic
        // caption at 0.05 never counts. C = 2 corrupted.
        CapfiltCandidate[] candidates =
        [
            new("images/0.png", "a red circle", CaptionSource.Web, 0.90),
            new("images/0.png", "a red circle", CaptionSource.Synthetic, 0.05),
            new("images/1.png", "a blue square", CaptionSource.Web, 0.20),
            new("images/2.png", "two yellow stars", CaptionSource.Web, 0.60),
            new("images/3.png", "a black cross", CaptionSource.Web, 0.40),
        ];
        var corrupted = new CorruptedCaptions([("images/1.png", "a blue square"), ("images/2.png", "two yellow stars")]);

        var ranking = FilterRanking.Of(candidates, corrupted)!;

        // Recall reaches 1/2 at precision 1/1 (0.20 flagged), then 2/2 at precision 2/3 (0.20, 0.40, 0.60 flagged):
        // AP = 1/2 × 1 + 1/2 × 2/3 = 5/6.
        Assert.Equal(5.0 / 6.0, ranking.AveragePrecision, 12);
        // The 2 lowest are 0.20 (corrupted) and 0.40 (clean): precision = recall = 1/2, the highest of them 0.40.
        Assert.Equal(0.5, ranking.BreakEven);
        Assert.Equal(0.40, ranking.BreakEvenScore);
    }

    [Fact]
    public void Equal_scores_are_flagged_together_for_average_precision_and_in_order_for_the_break_even()
    {
        // 0.30 (clean), 0.30 (corrupted), 0.80 (corrupted), 0.90 (clean).
        CapfiltCandidate[] candidates =
        [
            new("images/0.png", "a red circle", CaptionSource.Web, 0.30),
            new("images/1.png", "a blue square", CaptionSource.Web, 0.30),
            new("images/2.png", "two yellow stars", CaptionSource.Web, 0.80),
            new("images/3.png", "a black cross", CaptionSource.Web, 0.90),
        ];
        var corrupted = new CorruptedCaptions([("images/1.png", "a blue square"), ("images/2.png", "two yellow stars")]);

        var ranking = FilterRanking.Of(candidates, corrupted)!;

        // Both 0.30 at once: recall 1/2 at precision 1/2; then 0.80: recall 2/2 at precision 2/3.
        // AP = 1/2 × 1/2 + 1/2 × 2/3 = 7/12 (taking the corrupted 0.30 first would give 5/6).
        Assert.Equal(7.0 / 12.0, ranking.AveragePrecision, 12);
        // The 2 lowest, in the candidates' order: both 0.30 captions, one corrupted.
        Assert.Equal(0.5, ranking.BreakEven);
        Assert.Equal(0.30, ranking.BreakEvenScore);
    }

    [Fact]
    public void A_perfect_ranking_scores_one_and_none_corrupted_gives_none()
    {
        CapfiltCandidate[] candidates =
        [
            new("images/0.png", "a red circle", CaptionSource.Web, 0.95),
            new("images/1.png", "a blue square", CaptionSource.Web, 0.10),
            new("images/2.png", "two yellow stars", CaptionSource.Web, 0.15),
        ];

        var perfect = FilterRanking.Of(candidates, new CorruptedCaptions([("images/1.png", "a blue square"), ("images/2.png", "two yellow stars")]))!;

        Assert.Equal((1.0, 1.0, 0.15), (perfect.AveragePrecision, perfect.BreakEven, perfect.BreakEvenScore));
        Assert.Null(FilterRanking.Of(candidates, new CorruptedCaptions([("images/9.png", "a green star")])));
    }
}
