using System.Text.Json;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Runners;
using VisionLanguage.Data;
using VisionLanguage.Tasks.Capfilt;

namespace Trainer.Worker.Tests.Capfilt;

public sealed class BlipCapfiltRunnerTests(TinyBlipChain chain) : IClassFixture<TinyBlipChain>
{
    private const int CaptionsPerImage = 2;

    private static readonly string Options = $$"""{"captions_per_image":{{CaptionsPerImage}},"threshold":0.0,"shard_size":4,"seed":5}""";

    /// <summary>
    /// A checkpoint the store does not have: a run given it as captioner or filter fails if it tries to generate or score.
    /// </summary>
    private static readonly ArtifactReference Missing =
        new() { Uri = "file:///nowhere/manifest.json", Type = "checkpoint.blip.retrieval", Sha256 = new string('0', 64) };

    [Fact]
    public async Task A_run_killed_after_its_first_shard_resumes_without_redoing_it_and_ends_as_an_uninterrupted_run()
    {
        var runner = new BlipCapfiltRunner();
        var (straight, _) = await chain.Chain.RunAsync(runner, "capfilt", Options, Inputs());

        using var cancel = new CancellationTokenSource();
        string? killedRun = null;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            var (context, runId) = chain.Chain.Context(runner.Kind, "capfilt", Options, Inputs(), onReport: report =>
            {
                if (report is CheckpointSaved)
                {
                    cancel.Cancel();
                }
            });
            killedRun = runId;
            await runner.RunAsync(context, cancel.Token);
        });
        var first = Assert.Single(chain.Chain.Reports[killedRun!].OfType<CheckpointSaved>());
        Assert.Equal(1, first.Step);

        var (resumed, resumedRun) = await chain.Chain.RunAsync(runner, "capfilt", Options, Inputs(), resumeFrom: first.Checkpoint);

        // 16 web images in shards of 4: the resumed run scores shards 2 to 4 only.
        Assert.Equal([2L, 3L, 4L], chain.Chain.Reports[resumedRun].OfType<CheckpointSaved>().Select(report => report.Step));
        Assert.Equal([2L, 3L, 4L], chain.Chain.Reports[resumedRun].OfType<StageRunProgressed>().Select(report => report.Step));
        Assert.Equal(await ScoresBytesAsync(straight), await ScoresBytesAsync(resumed));
        Assert.Equal(straight.Metrics, resumed.Metrics);
    }

    [Fact]
    public async Task Every_candidate_is_scored_and_the_kept_pairs_are_exactly_those_at_or_above_the_threshold()
    {
        var (scored, _) = await chain.Chain.RunAsync(new BlipCapfiltRunner(), "capfilt", Options, Inputs());
        var candidates = await ScoresAsync(scored);
        Assert.Equal(TinyBlipChain.WebImages * (1 + CaptionsPerImage), candidates.Count);
        Assert.Equal(TinyBlipChain.WebImages, candidates.Count(candidate => candidate.Source == CaptionSource.Web));
        Assert.All(candidates, candidate => Assert.False(string.IsNullOrWhiteSpace(candidate.Caption)));

        // A new threshold on the earlier scores: the median, so some pairs go and some stay. The filter and captioner
        // are bound to an artifact the store does not have, so any attempt to score or generate again would fail.
        var threshold = candidates.Select(candidate => candidate.Score).Order().ElementAt(candidates.Count / 2);
        var (rethresholded, _) = await chain.Chain.RunAsync(new BlipCapfiltRunner(), "capfilt",
            $$"""{"captions_per_image":{{CaptionsPerImage}},"threshold":{{threshold.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}},"shard_size":4}""",
            StageChain.Inputs(("captioner", Missing), ("filter", Missing), ("web", chain.Web), ("scores", scored.Outputs["scores"])));

        var kept = candidates.Where(candidate => candidate.Score >= threshold).ToList();
        var dataset = await chain.Chain.Store.FetchAsync(rethresholded.Outputs["dataset"]);
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dataset.Directory, BlipAnnotationReader.FileName)));
        Assert.Equal(
            kept.Select(candidate => (candidate.Image, candidate.Caption)),
            document.RootElement.EnumerateArray().Select(entry => (entry.GetProperty("image").GetString()!, entry.GetProperty("caption").GetString()!)));
        Assert.Equal(candidates, await ScoresAsync(rethresholded));
        Assert.Equal(kept.Count, rethresholded.Metrics["kept_pairs"]);
        Assert.Equal((double)kept.Count(c => c.Source == CaptionSource.Web) / TinyBlipChain.WebImages, rethresholded.Metrics["kept_web_share"]);

        // The dataset stands on its own: the loader reads it, with the web dataset's vocabulary and copies of the kept images.
        using var opened = BlipDataset.OpenFolder(dataset.Directory, BadDataPolicy.Fail);
        Assert.Equal(kept.Count, opened.Count);
        Assert.Equal(kept.Select(candidate => candidate.Image).Distinct().Count(), opened.ImageCount);
        var web = await chain.Chain.Store.FetchAsync(chain.Web);
        Assert.Equal(
            await File.ReadAllTextAsync(Path.Combine(web.Directory, BlipVocabulary.FileName)),
            await File.ReadAllTextAsync(Path.Combine(dataset.Directory, BlipVocabulary.FileName)));

        // The synthetic web split records its corrupted captions (round(16 × 0.4) = 6), so the filter's precision and recall are reported.
        Assert.Equal(6, rethresholded.Metrics["corrupted_web"]);
        Assert.Contains("filter_recall", rethresholded.Metrics.Keys);
        // How the scores rank the corrupted captions does not depend on the threshold.
        foreach (var metric in new[] { "filter_average_precision", "filter_break_even", "filter_break_even_score" })
        {
            Assert.Equal(scored.Metrics[metric], rethresholded.Metrics[metric]);
        }

        // Beside the scores, what every threshold of the grid would have done, from the same scores and record.
        var scoresFolder = (await chain.Chain.Store.FetchAsync(rethresholded.Outputs["scores"])).Directory;
        using var curveDocument = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(scoresFolder, CapfiltFilterCurve.FileName)));
        var curve = curveDocument.RootElement.EnumerateArray().ToList();
        Assert.Equal(CapfiltFilterCurve.Thresholds, curve.Select(point => point.GetProperty("threshold").GetDouble()));
        var webCandidates = candidates.Where(candidate => candidate.Source == CaptionSource.Web).ToList();
        Assert.Equal(
            CapfiltFilterCurve.Thresholds.Select(threshold => webCandidates.Count(candidate => candidate.Score < threshold)),
            curve.Select(point => point.GetProperty("flagged").GetInt32()));
        Assert.All(curve, point => Assert.Equal(6, point.GetProperty("corrupted").GetInt32()));
    }

    [Fact]
    public async Task A_clean_reject_share_sets_the_threshold_from_the_calibration_pairs_and_a_later_run_reuses_their_scores()
    {
        // The test split: 4 images, 2 clean captions each. Share 0.25 of 8 rejects 2: the threshold is the 3rd lowest score.
        var (calibrated, _) = await chain.Chain.RunAsync(new BlipCapfiltRunner(), "capfilt",
            $$"""{"captions_per_image":{{CaptionsPerImage}},"clean_reject_share":0.25,"shard_size":4,"seed":5}""",
            StageChain.Inputs(("captioner", chain.Captioner), ("filter", chain.Filter), ("web", chain.Web), ("calibration", chain.Test)));

        var scoresFolder = (await chain.Chain.Store.FetchAsync(calibrated.Outputs["scores"])).Directory;
        var calibration = CapfiltCalibration.Read(scoresFolder, "scores")!;
        var test = await chain.Chain.Store.FetchAsync(chain.Test);
        using (var testSet = BlipDataset.OpenFolder(test.Directory, BadDataPolicy.Fail))
        {
            Assert.Equal(testSet.Samples.Select(sample => sample.Caption), calibration.Select(pair => pair.Caption));
        }

        var ordered = calibration.Select(pair => pair.Score).Order().ToList();
        Assert.Equal(8, ordered.Count);
        Assert.Equal(ordered[2], calibrated.Metrics["threshold"]);
        Assert.Equal(8, calibrated.Metrics["calibration_pairs"]);
        Assert.Equal(ordered.Count(score => score < ordered[2]) / 8.0, calibrated.Metrics["calibration_rejected_share"]);
        var candidates = await ScoresAsync(calibrated);
        Assert.Equal(candidates.Count(candidate => candidate.Score >= ordered[2]), calibrated.Metrics["kept_pairs"]);

        // A new share on the earlier scores takes the calibration scores kept beside them: the filter is bound to an
        // artifact the store does not have, so scoring anything again would fail.
        var (again, _) = await chain.Chain.RunAsync(new BlipCapfiltRunner(), "capfilt",
            $$"""{"captions_per_image":{{CaptionsPerImage}},"clean_reject_share":0.5,"shard_size":4}""",
            StageChain.Inputs(("captioner", Missing), ("filter", Missing), ("web", chain.Web), ("scores", calibrated.Outputs["scores"])));
        Assert.Equal(ordered[4], again.Metrics["threshold"]);
        Assert.Equal(calibration, CapfiltCalibration.Read((await chain.Chain.Store.FetchAsync(again.Outputs["scores"])).Directory, "scores"));

        // Earlier scores made without a calibration input cannot set the threshold this way, and the error says what to bind.
        var (uncalibrated, _) = await chain.Chain.RunAsync(new BlipCapfiltRunner(), "capfilt", Options, Inputs());
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => chain.Chain.RunAsync(new BlipCapfiltRunner(), "capfilt",
            $$"""{"captions_per_image":{{CaptionsPerImage}},"clean_reject_share":0.5,"shard_size":4}""",
            StageChain.Inputs(("captioner", Missing), ("filter", Missing), ("web", chain.Web), ("scores", uncalibrated.Outputs["scores"]))));
        Assert.Contains($"input 'scores' holds no {CapfiltCalibration.FileName}; bind input 'calibration'", error.Message);
    }

    [Fact]
    public async Task A_threshold_that_no_candidate_reaches_fails_the_run_and_names_the_option_to_lower()
    {
        var (scored, _) = await chain.Chain.RunAsync(new BlipCapfiltRunner(), "capfilt", Options, Inputs());
        var candidates = await ScoresAsync(scored);
        var highest = candidates.Max(candidate => candidate.Score);
        Assert.True(highest < 1.0, $"the tiny filter's highest score is {highest}; the test needs a threshold above it");
        var above = Math.BitIncrement(highest);

        // A fixed threshold just above the highest earlier score.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => chain.Chain.RunAsync(new BlipCapfiltRunner(), "capfilt",
            $$"""{"captions_per_image":{{CaptionsPerImage}},"threshold":{{above.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}},"shard_size":4}""",
            StageChain.Inputs(("captioner", Missing), ("filter", Missing), ("web", chain.Web), ("scores", scored.Outputs["scores"]))));
        Assert.Equal($"no candidate reached threshold {above} (highest score {highest:F3}); lower threshold", error.Message);

        // A threshold set by clean_reject_share, from calibration scores that are all above every candidate: the advice
        // names the option that set it, not 'threshold', which is not used then.
        var folder = Directory.CreateTempSubdirectory("capfilt-scores-").FullName;
        CapfiltScoresFile.Write(Path.Combine(folder, CapfiltScoresFile.FileName), candidates);
        CapfiltCalibration.Write(Path.Combine(folder, CapfiltCalibration.FileName),
            [new CalibrationScore("test-0.png", "a red circle", above), new CalibrationScore("test-1.png", "a blue square", 1.0)]);
        var calibrated = await chain.Chain.Store.CommitAsync(
            new ArtifactDraft { Type = scored.Outputs["scores"].Type, ExperimentId = "exp-1", StageId = "capfilt", RunId = "run-by-hand", Name = "scores", OptionsHash = "" },
            folder);
        Directory.Delete(folder, recursive: true);
        error = await Assert.ThrowsAsync<InvalidOperationException>(() => chain.Chain.RunAsync(new BlipCapfiltRunner(), "capfilt",
            $$"""{"captions_per_image":{{CaptionsPerImage}},"clean_reject_share":0.0,"shard_size":4}""",
            StageChain.Inputs(("captioner", Missing), ("filter", Missing), ("web", chain.Web), ("scores", calibrated))));
        Assert.Equal(
            $"no candidate reached threshold {above} (highest score {highest:F3}); lower clean_reject_share, which sets the threshold from input 'calibration'",
            error.Message);
    }

    private IReadOnlyDictionary<string, IReadOnlyList<ArtifactReference>> Inputs() =>
        StageChain.Inputs(("captioner", chain.Captioner), ("filter", chain.Filter), ("web", chain.Web));

    private async Task<IReadOnlyList<CapfiltCandidate>> ScoresAsync(StageRunResult result) =>
        CapfiltScoresFile.Read(Path.Combine((await chain.Chain.Store.FetchAsync(result.Outputs["scores"])).Directory, CapfiltScoresFile.FileName), "scores");

    private async Task<byte[]> ScoresBytesAsync(StageRunResult result) =>
        await File.ReadAllBytesAsync(Path.Combine((await chain.Chain.Store.FetchAsync(result.Outputs["scores"])).Directory, CapfiltScoresFile.FileName));
}
