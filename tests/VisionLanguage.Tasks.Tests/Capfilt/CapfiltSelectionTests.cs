using VisionLanguage.Tasks.Capfilt;

namespace VisionLanguage.Tasks.Tests.Capfilt;

public sealed class CapfiltSelectionTests
{
    // Four web images, one web and one synthetic caption each; images 1 and 2 carry corrupted web captions.
    private static readonly CapfiltCandidate[] Candidates =
    [
        new("images/0.png", "a red circle", CaptionSource.Web, 0.90),
        new("images/0.png", "a red circle on the left", CaptionSource.Synthetic, 0.50),
        new("images/1.png", "a blue square", CaptionSource.Web, 0.20),
        new("images/1.png", "a green triangle", CaptionSource.Synthetic, 0.70),
        new("images/2.png", "two  yellow stars", CaptionSource.Web, 0.60),
        new("images/2.png", "three yellow stars", CaptionSource.Synthetic, 0.10),
        new("images/3.png", "a black cross", CaptionSource.Web, 0.40),
        new("images/3.png", "a black cross at the top", CaptionSource.Synthetic, 0.49),
    ];

    private static readonly CorruptedCaptions Corrupted = new([("images/1.png", "a blue square"), ("images/2.png", "two yellow stars")]);

    [Fact]
    public void Pairs_at_or_above_the_threshold_are_kept_in_order()
    {
        var selection = CapfiltSelection.Apply(Candidates, threshold: 0.5, Corrupted);

        Assert.Equal([Candidates[0], Candidates[1], Candidates[3], Candidates[4]], selection.Kept);
        Assert.Equal(4, selection.Metrics["candidates_web"]);
        Assert.Equal(4, selection.Metrics["candidates_synthetic"]);
        Assert.Equal(2, selection.Metrics["kept_web"]);
        Assert.Equal(2, selection.Metrics["kept_synthetic"]);
        Assert.Equal(4, selection.Metrics["kept_pairs"]);
    }

    [Fact]
    public void With_clean_calibration_scores_the_share_of_them_the_threshold_rejects_is_reported()
    {
        var selection = CapfiltSelection.Apply(Candidates, threshold: 0.5, Corrupted, calibration: [0.3, 0.5, 0.8, 0.95]);
        var without = CapfiltSelection.Apply(Candidates, threshold: 0.5, Corrupted);

        // Below 0.5: only 0.3 of the 4 clean pairs (0.5 itself is kept, as a candidate at the threshold is).
        Assert.Equal(4, selection.Metrics["calibration_pairs"]);
        Assert.Equal(0.25, selection.Metrics["calibration_rejected_share"]);
        Assert.DoesNotContain("calibration_pairs", without.Metrics.Keys);
        Assert.Equal(without.Kept, selection.Kept);
    }

    [Fact]
    public void Kept_shares_and_the_filters_precision_and_recall_at_finding_corrupted_web_captions()
    {
        var selection = CapfiltSelection.Apply(Candidates, threshold: 0.5, Corrupted);

        // Web kept: 0.90 and 0.60 of 4 → 2/4; synthetic kept: 0.50 (at the threshold) and 0.70 of 4 → 2/4.
        Assert.Equal(0.5, selection.Metrics["kept_web_share"]);
        Assert.Equal(0.5, selection.Metrics["kept_synthetic_share"]);
        // Flagged (web below 0.5): images 1 (corrupted) and 3 (clean) → precision 1/2. Corrupted: images 1 and 2, of
        // which only 1 was flagged (image 2's "two  yellow stars" matches the record once white space is collapsed, but
        // scored 0.60) → recall 1/2.
        Assert.Equal(2, selection.Metrics["corrupted_web"]);
        Assert.Equal(2, selection.Metrics["flagged_web"]);
        Assert.Equal(1, selection.Metrics["flagged_corrupted"]);
        Assert.Equal(0.5, selection.Metrics["filter_precision"]);
        Assert.Equal(0.5, selection.Metrics["filter_recall"]);
    }

    [Fact]
    public void A_higher_threshold_flags_more_web_captions_and_trades_precision_for_recall()
    {
        var selection = CapfiltSelection.Apply(Candidates, threshold: 0.65, Corrupted);

        // Web kept: only 0.90 → 1/4; synthetic kept: 0.70 → 1/4. Flagged: images 1, 2, 3 → precision 2/3, recall 2/2.
        Assert.Equal(0.25, selection.Metrics["kept_web_share"]);
        Assert.Equal(0.25, selection.Metrics["kept_synthetic_share"]);
        Assert.Equal(2.0 / 3.0, selection.Metrics["filter_precision"]);
        Assert.Equal(1.0, selection.Metrics["filter_recall"]);
    }

    [Fact]
    public void The_filters_ranking_is_reported_the_same_at_every_threshold()
    {
        // Web scores, lowest first: 0.20 (corrupted), 0.40, 0.60 (corrupted), 0.90: AP = 1/2 × 1 + 1/2 × 2/3 = 5/6;
        // the 2 lowest hold 1 corrupted caption, the higher at 0.40 (FilterRankingTests works these through).
        foreach (var threshold in new[] { 0.0, 0.5, 0.65 })
        {
            var metrics = CapfiltSelection.Apply(Candidates, threshold, Corrupted).Metrics;

            Assert.Equal(5.0 / 6.0, metrics["filter_average_precision"], 12);
            Assert.Equal(0.5, metrics["filter_break_even"]);
            Assert.Equal(0.40, metrics["filter_break_even_score"]);
        }
    }

    [Fact]
    public void Recall_is_also_reported_for_each_kind_of_corruption_the_record_names()
    {
        CorruptedCaptions corrupted = new([("images/1.png", "a blue square", "colour"), ("images/2.png", "two yellow stars", "count"), ("images/3.png", "a black cross", null)]);

        var selection = CapfiltSelection.Apply(Candidates, threshold: 0.5, corrupted);

        // Flagged below 0.5: images 1 (colour) and 3 (kind not recorded); image 2 (count) scored 0.60 and was kept.
        Assert.Equal(1.0, selection.Metrics["filter_recall_colour"]);
        Assert.Equal(0.0, selection.Metrics["filter_recall_count"]);
        Assert.Equal(2.0 / 3.0, selection.Metrics["filter_recall"]);
        Assert.DoesNotContain(selection.Metrics.Keys, key => key.StartsWith("filter_recall_", StringComparison.Ordinal) && key is not "filter_recall_colour" and not "filter_recall_count");
    }

    [Fact]
    public void Without_a_corruption_record_or_synthetic_captions_those_metrics_are_left_out()
    {
        var webOnly = Candidates.Where(candidate => candidate.Source == CaptionSource.Web).ToList();

        var selection = CapfiltSelection.Apply(webOnly, threshold: 0.5, corrupted: null);

        Assert.Equal(0.5, selection.Metrics["kept_web_share"]);
        Assert.DoesNotContain("kept_synthetic_share", selection.Metrics.Keys);
        Assert.DoesNotContain("filter_precision", selection.Metrics.Keys);
        Assert.DoesNotContain("filter_recall", selection.Metrics.Keys);
        Assert.DoesNotContain("filter_average_precision", selection.Metrics.Keys);
    }

    [Fact]
    public void Precision_is_undefined_when_nothing_is_flagged()
    {
        var selection = CapfiltSelection.Apply(Candidates, threshold: 0.0, Corrupted);

        Assert.Equal(0, selection.Metrics["flagged_web"]);
        Assert.DoesNotContain("filter_precision", selection.Metrics.Keys);
        Assert.Equal(0.0, selection.Metrics["filter_recall"]);
    }
}
