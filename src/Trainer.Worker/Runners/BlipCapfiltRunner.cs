using Microsoft.Extensions.Logging;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Messages;
using VisionLanguage.Data;
using VisionLanguage.Tasks;
using VisionLanguage.Tasks.Capfilt;

namespace Trainer.Worker.Runners;

/// <summary>
/// Runs <c>blip.capfilt</c>. For each web image the captioner samples <c>captions_per_image</c> captions (nucleus
/// sampling, seeded per image); the filter scores the web caption and each synthetic one with its ITM match
/// probability; pairs at or above <c>threshold</c> form the output <c>dataset</c>, and every candidate with its score
/// the output <c>scores</c>, with the filter's precision and recall at a grid of thresholds where the web dataset
/// records its corrupted captions (<see cref="CapfiltFilterCurve"/>). Web images are scored in shards of <c>shard_size</c>, each finished shard saved as a
/// checkpoint, so a resumed run redoes none of them. Given input <c>scores</c>, only the threshold is applied again.
/// Given input <c>calibration</c>, a clean dataset, the filter scores its pairs too; the run reports the share of them
/// the threshold rejects, and <c>clean_reject_share</c> sets the threshold from them (<see cref="CapfiltCalibration"/>).
/// </summary>
public sealed class BlipCapfiltRunner : IStageRunner
{
    public string Kind => "blip.capfilt";

    public async Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var options = context.GetOptions<BlipCapfiltOptions>();

        var web = Single(await context.FetchInputAsync("web", cancellationToken), "web");
        var earlier = await context.FetchInputAsync("scores", cancellationToken);
        IReadOnlyList<CapfiltCandidate> candidates;
        IReadOnlyList<CalibrationScore>? calibration = null;
        string vocabulary;
        if (earlier.Count > 0)
        {
            var earlierFolder = Single(earlier, "scores").Directory;
            candidates = CapfiltScoresFile.Read(Path.Combine(earlierFolder, CapfiltScoresFile.FileName), "input 'scores'");
            calibration = CapfiltCalibration.Read(earlierFolder, "input 'scores'");
            vocabulary = Path.Combine(web.Directory, BlipVocabulary.FileName);
            context.Logger.LogInformation("Thresholding {Candidates} earlier scores; nothing is generated", candidates.Count);
        }
        else
        {
            (candidates, vocabulary) = await ScoreAsync(context, options, web.Directory, cancellationToken);
        }

        var calibrationInput = await context.FetchInputAsync("calibration", cancellationToken);
        if (calibrationInput.Count > 0)
        {
            calibration = await ScoreCalibrationAsync(context, Single(calibrationInput, "calibration").Directory, options, cancellationToken);
        }

        var calibrationScores = calibration?.Select(pair => pair.Score).ToList();
        var threshold = Threshold(options, calibrationScores);

        if (!File.Exists(vocabulary))
        {
            throw new InvalidDataException(
                $"input 'web' has no {BlipVocabulary.FileName}; with input 'scores' the vocabulary comes from the web dataset, so bind one that carries it (dataset.synthetic and dataset.import do)");
        }

        var corrupted = CorruptedCaptions.Read(web.Directory);
        var selection = CapfiltSelection.Apply(candidates, threshold, corrupted, calibrationScores);
        if (selection.Kept.Count == 0)
        {
            throw new InvalidOperationException(
                $"no candidate reached threshold {threshold} (highest score {candidates.Select(c => c.Score).DefaultIfEmpty(0).Max():F3}); " +
                (options.CleanRejectShare is null ? "lower threshold" : "lower clean_reject_share, which sets the threshold from input 'calibration'"));
        }

        if (calibrationScores is not null)
        {
            context.Logger.LogInformation(
                "Threshold {Threshold:F4} rejects {Rejected:P1} of the {Pairs} clean calibration pairs", threshold, selection.Metrics["calibration_rejected_share"], calibrationScores.Count);
        }

        context.Logger.LogInformation(
            "Kept {Kept} of {Candidates} pairs at threshold {Threshold}: web share {Web:P1}, synthetic share {Synthetic:P1}",
            selection.Kept.Count, candidates.Count, threshold,
            selection.Metrics.GetValueOrDefault("kept_web_share"), selection.Metrics.GetValueOrDefault("kept_synthetic_share"));

        var datasetFolder = Path.Combine(context.WorkDirectory, "dataset");
        CapfiltDatasetWriter.Write(datasetFolder, selection.Kept, web.Directory, vocabulary);
        var scoresFolder = Directory.CreateDirectory(Path.Combine(context.WorkDirectory, "scores")).FullName;
        CapfiltScoresFile.Write(Path.Combine(scoresFolder, CapfiltScoresFile.FileName), candidates);
        if (calibration is not null)
        {
            CapfiltCalibration.Write(Path.Combine(scoresFolder, CapfiltCalibration.FileName), calibration);
        }

        if (corrupted is not null)
        {
            var curve = CapfiltFilterCurve.Compute(candidates, corrupted, CapfiltFilterCurve.Thresholds);
            CapfiltFilterCurve.Write(Path.Combine(scoresFolder, CapfiltFilterCurve.FileName), curve);
            context.Logger.LogInformation("Filter precision/recall at finding corrupted web captions, by threshold: {Curve}", CapfiltFilterCurve.Describe(curve));
            if (selection.Metrics.TryGetValue("filter_break_even", out var breakEven))
            {
                context.Logger.LogInformation(
                    "Filter ranking, whatever the threshold: average precision {AveragePrecision:F3}; precision = recall = {BreakEven:F3} flagging scores up to {BreakEvenScore:F3}",
                    selection.Metrics["filter_average_precision"], breakEven, selection.Metrics["filter_break_even_score"]);
            }
        }

        var dataset = await context.CommitOutputAsync("dataset", datasetFolder, selection.Metrics, cancellationToken);
        var scores = await context.CommitOutputAsync("scores", scoresFolder, selection.Metrics, cancellationToken);
        return new StageRunResult
        {
            Outputs = new Dictionary<string, ArtifactReference> { ["dataset"] = dataset, ["scores"] = scores },
            Metrics = selection.Metrics,
        };
    }

    private static async Task<(IReadOnlyList<CapfiltCandidate> Candidates, string Vocabulary)> ScoreAsync(
        StageRunContext context, BlipCapfiltOptions options, string webFolder, CancellationToken cancellationToken)
    {
        var filterFolder = Single(await context.FetchInputAsync("filter", cancellationToken), "filter").Directory;
        using var filterModel = BlipCheckpointModel.Load(filterFolder, "input 'filter'");
        using var captioner = options.CaptionsPerImage > 0
            ? new CapfiltCaptioner(Single(await context.FetchInputAsync("captioner", cancellationToken), "captioner").Directory, BlipOptionsMapping.CapfiltDecoding(options), options.Seed)
            : null;
        using var dataset = BlipDataset.OpenFolder(webFolder, VisionLanguage.Data.BadDataPolicy.Fail);
        var names = ImageNames(webFolder);
        var captionsOf = dataset.Samples.ToLookup(sample => sample.ImageId, sample => sample.Caption);
        var filter = new CapfiltFilter(filterModel, options.MaxLength + 2);
        var plan = new CapfiltShardPlan(
            dataset.ImageCount, options.ShardSize, options.CaptionsPerImage, options.Seed, options.TopP, options.RepetitionPenalty, options.MinLength, options.MaxLength);

        var shards = new List<IReadOnlyList<CapfiltCandidate>>(await ResumeAsync(context, plan, cancellationToken));
        for (var shard = shards.Count; shard < plan.ShardCount; shard++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var imageIds = plan.ImagesOf(shard);
            var synthetic = captioner?.Sample(dataset, imageIds, shard) ?? [.. imageIds.Select(_ => (IReadOnlyList<string>)[])];
            var pairs = new List<(int ImageRow, string Caption, CaptionSource Source)>();
            for (var row = 0; row < imageIds.Count; row++)
            {
                pairs.AddRange(captionsOf[imageIds[row]].Select(caption => (row, caption, CaptionSource.Web)));
                pairs.AddRange(synthetic[row].Select(caption => (row, caption, CaptionSource.Synthetic)));
            }

            // An empty synthetic caption (nothing printable was sampled) matches nothing: it scores 0 without the filter.
            var scored = pairs.Select((pair, i) => (Pair: pair, Index: i)).Where(entry => !string.IsNullOrWhiteSpace(entry.Pair.Caption)).ToList();
            var scores = new double[pairs.Count];
            using (var images = filter.LoadImages(dataset, imageIds))
            {
                var values = filter.Score(images, [.. scored.Select(entry => (entry.Pair.ImageRow, entry.Pair.Caption))]);
                for (var i = 0; i < scored.Count; i++)
                {
                    scores[scored[i].Index] = values[i];
                }
            }

            shards.Add([.. pairs.Select((pair, i) => new CapfiltCandidate(names[imageIds[pair.ImageRow]], pair.Caption, pair.Source, scores[i]))]);
            var checkpoint = Path.Combine(context.WorkDirectory, "checkpoints", $"shard-{shard + 1:D5}");
            new CapfiltShardCheckpoint(plan, shards).Write(checkpoint);
            await context.SaveCheckpointAsync(checkpoint, shard + 1);
            Directory.Delete(checkpoint, recursive: true);
            await context.ReportProgressAsync(shard + 1, plan.ShardCount);
        }

        var web = Path.Combine(webFolder, BlipVocabulary.FileName);
        return ([.. shards.SelectMany(shard => shard)], File.Exists(web) ? web : Path.Combine(filterFolder, BlipVocabulary.FileName));
    }

    /// <summary><c>threshold</c>, or with <c>clean_reject_share</c> the score that share of the clean calibration pairs falls below.</summary>
    private static double Threshold(BlipCapfiltOptions options, IReadOnlyList<double>? calibration) => options.CleanRejectShare switch
    {
        null => options.Threshold,
        { } share when calibration is not null => CapfiltCalibration.Threshold(calibration, share),
        _ => throw new InvalidOperationException(
            $"clean_reject_share is set, but input 'calibration' is not bound and input 'scores' holds no {CapfiltCalibration.FileName}; bind input 'calibration' to a clean dataset (e.g. the test split)"),
    };

    private static async Task<IReadOnlyList<CalibrationScore>> ScoreCalibrationAsync(
        StageRunContext context, string calibrationFolder, BlipCapfiltOptions options, CancellationToken cancellationToken)
    {
        var filterFolder = Single(await context.FetchInputAsync("filter", cancellationToken), "filter").Directory;
        using var filterModel = BlipCheckpointModel.Load(filterFolder, "input 'filter'");
        var scores = CapfiltCalibration.Score(new CapfiltFilter(filterModel, options.MaxLength + 2), calibrationFolder);
        context.Logger.LogInformation("Scored {Pairs} clean calibration pairs", scores.Count);
        return scores;
    }

    /// <summary>The finished shards of the checkpoint this run resumes from, when it was cut and drawn as this run would.</summary>
    private static async Task<IReadOnlyList<IReadOnlyList<CapfiltCandidate>>> ResumeAsync(
        StageRunContext context, CapfiltShardPlan plan, CancellationToken cancellationToken)
    {
        if (await context.FetchResumeCheckpointAsync(cancellationToken) is not { } resume)
        {
            return [];
        }

        var checkpoint = CapfiltShardCheckpoint.Read(resume.Directory);
        if (checkpoint is null || checkpoint.Plan != plan)
        {
            context.Logger.LogWarning(
                "Checkpoint {Checkpoint} was not written with this run's shards and sampling ({Plan}); starting from the first shard", resume.Manifest.Draft.Name, plan);
            return [];
        }

        context.Logger.LogInformation("Resumed after {Shards} of {Total} shards", checkpoint.Shards.Count, plan.ShardCount);
        return checkpoint.Shards;
    }

    /// <summary>The dataset's image paths, as its annotation file names them, by image id.</summary>
    private static IReadOnlyList<string> ImageNames(string folder) =>
        BlipAnnotationReader.Read(Path.Combine(folder, BlipAnnotationReader.FileName), folder, VisionLanguage.Data.BadDataPolicy.Fail).ImageNames;

    private static LocalArtifact Single(IReadOnlyList<LocalArtifact> artifacts, string input) => artifacts.Count == 1
        ? artifacts[0]
        : throw new InvalidOperationException($"input '{input}' takes one artifact, but {artifacts.Count} are bound; bind one");
}
