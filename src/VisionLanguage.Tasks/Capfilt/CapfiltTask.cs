using Microsoft.Extensions.Logging;
using VisionLanguage.Data;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Tasks.Running;

namespace VisionLanguage.Tasks.Capfilt;

/// <summary>How CapFilt captions, filters and checkpoints.</summary>
public sealed record CapfiltSettings
{
    /// <summary>The filter's ITM match probability a pair needs to be kept.</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>When set, the threshold is the score this share of the clean calibration pairs falls below, not <see cref="Threshold"/>.</summary>
    public double? CleanRejectShare { get; init; }

    /// <summary>Web images per shard; each finished shard is a checkpoint.</summary>
    public int ShardSize { get; init; } = 256;

    /// <summary>Seeds the captioner's sampling, per image.</summary>
    public int Seed { get; init; }

    /// <summary>The captioner's nucleus sampling; <see cref="CaptionDecodingSettings.SamplesPerImage"/> captions per web image (0: filter the web captions only).</summary>
    public required CaptionDecodingSettings Decoding { get; init; }
}

/// <summary>
/// CapFilt (BLIP's bootstrapping, <c>blip.capfilt</c>). For each web image the captioner samples <c>captions_per_image</c> captions (nucleus
/// sampling, seeded per image); the filter scores the web caption and each synthetic one with its ITM match
/// probability; pairs at or above <c>threshold</c> form the output <c>dataset</c>, and every candidate with its score
/// the output <c>scores</c>, with the filter's precision and recall at a grid of thresholds where the web dataset
/// records its corrupted captions (<see cref="CapfiltFilterCurve"/>). Web images are scored in shards of <c>shard_size</c>, each finished shard saved as a
/// checkpoint, so a resumed run redoes none of them. Given input <c>scores</c>, only the threshold is applied again.
/// Given input <c>calibration</c>, a clean dataset, the filter scores its pairs too; the run reports the share of them
/// the threshold rejects, and <c>clean_reject_share</c> sets the threshold from them (<see cref="CapfiltCalibration"/>).
/// </summary>
public sealed class CapfiltTask(CapfiltSettings settings)
{
    public const string Kind = "blip.capfilt";

    public async Task<TaskResult> RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var web = Single(await run.Inputs.FetchAsync("web", cancellationToken), "web");
        var earlier = await run.Inputs.FetchAsync("scores", cancellationToken);
        IReadOnlyList<CapfiltCandidate> candidates;
        IReadOnlyList<CalibrationScore>? calibration = null;
        string vocabulary;
        if (earlier.Count > 0)
        {
            var earlierFolder = Single(earlier, "scores").Directory;
            candidates = CapfiltScoresFile.Read(Path.Combine(earlierFolder, CapfiltScoresFile.FileName), "input 'scores'");
            calibration = CapfiltCalibration.Read(earlierFolder, "input 'scores'");
            vocabulary = Path.Combine(web.Directory, BlipVocabulary.FileName);
            run.Logger.LogInformation("Thresholding {Candidates} earlier scores; nothing is generated", candidates.Count);
        }
        else
        {
            (candidates, vocabulary) = await ScoreAsync(run, web.Directory, cancellationToken);
        }

        var calibrationInput = await run.Inputs.FetchAsync("calibration", cancellationToken);
        if (calibrationInput.Count > 0)
        {
            calibration = await ScoreCalibrationAsync(run, Single(calibrationInput, "calibration").Directory, cancellationToken);
        }

        var calibrationScores = calibration?.Select(pair => pair.Score).ToList();
        var threshold = Threshold(calibrationScores);

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
                (settings.CleanRejectShare is null ? "lower threshold" : "lower clean_reject_share, which sets the threshold from input 'calibration'"));
        }

        if (calibrationScores is not null)
        {
            run.Logger.LogInformation(
                "Threshold {Threshold:F4} rejects {Rejected:P1} of the {Pairs} clean calibration pairs", threshold, selection.Metrics["calibration_rejected_share"], calibrationScores.Count);
        }

        run.Logger.LogInformation(
            "Kept {Kept} of {Candidates} pairs at threshold {Threshold}: web share {Web:P1}, synthetic share {Synthetic:P1}",
            selection.Kept.Count, candidates.Count, threshold,
            selection.Metrics.GetValueOrDefault("kept_web_share"), selection.Metrics.GetValueOrDefault("kept_synthetic_share"));

        var datasetFolder = Path.Combine(run.WorkDirectory, "dataset");
        CapfiltDatasetWriter.Write(datasetFolder, selection.Kept, web.Directory, vocabulary);
        var scoresFolder = Directory.CreateDirectory(Path.Combine(run.WorkDirectory, "scores")).FullName;
        CapfiltScoresFile.Write(Path.Combine(scoresFolder, CapfiltScoresFile.FileName), candidates);
        if (calibration is not null)
        {
            CapfiltCalibration.Write(Path.Combine(scoresFolder, CapfiltCalibration.FileName), calibration);
        }

        if (corrupted is not null)
        {
            var curve = CapfiltFilterCurve.Compute(candidates, corrupted, CapfiltFilterCurve.Thresholds);
            CapfiltFilterCurve.Write(Path.Combine(scoresFolder, CapfiltFilterCurve.FileName), curve);
            run.Logger.LogInformation("Filter precision/recall at finding corrupted web captions, by threshold: {Curve}", CapfiltFilterCurve.Describe(curve));
            if (selection.Metrics.TryGetValue("filter_break_even", out var breakEven))
            {
                run.Logger.LogInformation(
                    "Filter ranking, whatever the threshold: average precision {AveragePrecision:F3}; precision = recall = {BreakEven:F3} flagging scores up to {BreakEvenScore:F3}",
                    selection.Metrics["filter_average_precision"], breakEven, selection.Metrics["filter_break_even_score"]);
            }
        }

        return new TaskResult(new Dictionary<string, string> { ["dataset"] = datasetFolder, ["scores"] = scoresFolder }, selection.Metrics);
    }

    private async Task<(IReadOnlyList<CapfiltCandidate> Candidates, string Vocabulary)> ScoreAsync(
        TaskRun run, string webFolder, CancellationToken cancellationToken)
    {
        var filterFolder = Single(await run.Inputs.FetchAsync("filter", cancellationToken), "filter").Directory;
        using var filterModel = BlipCheckpointModel.Load(filterFolder, "input 'filter'", TaskTraining.RunDevice(run));
        var decoding = settings.Decoding;
        using var captioner = decoding.SamplesPerImage > 0
            ? new CapfiltCaptioner(Single(await run.Inputs.FetchAsync("captioner", cancellationToken), "captioner").Directory, decoding, settings.Seed, TaskTraining.RunDevice(run))
            : null;
        using var dataset = BlipDataset.OpenFolder(webFolder, BadDataPolicy.Fail);
        var names = ImageNames(webFolder);
        var captionsOf = dataset.Samples.ToLookup(sample => sample.ImageId, sample => sample.Caption);
        var filter = new CapfiltFilter(filterModel, settings.Decoding.MaxLength + 2);
        var plan = new CapfiltShardPlan(
            dataset.ImageCount, settings.ShardSize, decoding.SamplesPerImage, settings.Seed, decoding.TopP, decoding.RepetitionPenalty, decoding.MinLength, decoding.MaxLength);

        var shards = new List<IReadOnlyList<CapfiltCandidate>>(await ResumeAsync(run, plan, cancellationToken));
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
                var values = filter.Score(images, [.. scored.Select(entry => (entry.Pair.ImageRow, entry.Pair.Caption))], TaskPulse.Of(run, cancellationToken));
                for (var i = 0; i < scored.Count; i++)
                {
                    scores[scored[i].Index] = values[i];
                }
            }

            shards.Add([.. pairs.Select((pair, i) => new CapfiltCandidate(names[imageIds[pair.ImageRow]], pair.Caption, pair.Source, scores[i]))]);
            var checkpoint = Path.Combine(run.WorkDirectory, "checkpoints", $"shard-{shard + 1:D5}");
            new CapfiltShardCheckpoint(plan, shards).Write(checkpoint);
            await run.Checkpoints.SaveAsync(checkpoint, shard + 1, new Dictionary<string, double>());
            Directory.Delete(checkpoint, recursive: true);
            await run.Progress.ReportAsync(new TaskProgress(shard + 1, plan.ShardCount));
        }

        var web = Path.Combine(webFolder, BlipVocabulary.FileName);
        return ([.. shards.SelectMany(shard => shard)], File.Exists(web) ? web : Path.Combine(filterFolder, BlipVocabulary.FileName));
    }

    /// <summary><c>threshold</c>, or with <c>clean_reject_share</c> the score that share of the clean calibration pairs falls below.</summary>
    private double Threshold(IReadOnlyList<double>? calibration) => settings.CleanRejectShare switch
    {
        null => settings.Threshold,
        { } share when calibration is not null => CapfiltCalibration.Threshold(calibration, share),
        _ => throw new InvalidOperationException(
            $"clean_reject_share is set, but input 'calibration' is not bound and input 'scores' holds no {CapfiltCalibration.FileName}; bind input 'calibration' to a clean dataset (e.g. the test split)"),
    };

    private async Task<IReadOnlyList<CalibrationScore>> ScoreCalibrationAsync(
        TaskRun run, string calibrationFolder, CancellationToken cancellationToken)
    {
        var filterFolder = Single(await run.Inputs.FetchAsync("filter", cancellationToken), "filter").Directory;
        using var filterModel = BlipCheckpointModel.Load(filterFolder, "input 'filter'", TaskTraining.RunDevice(run));
        var scores = CapfiltCalibration.Score(new CapfiltFilter(filterModel, settings.Decoding.MaxLength + 2), calibrationFolder, TaskPulse.Of(run, cancellationToken));
        run.Logger.LogInformation("Scored {Pairs} clean calibration pairs", scores.Count);
        return scores;
    }

    /// <summary>The finished shards of the checkpoint this run resumes from, when it was cut and drawn as this run would.</summary>
    private static async Task<IReadOnlyList<IReadOnlyList<CapfiltCandidate>>> ResumeAsync(
        TaskRun run, CapfiltShardPlan plan, CancellationToken cancellationToken)
    {
        if (await run.Checkpoints.ResumeFolderAsync(cancellationToken) is not { } resume)
        {
            return [];
        }

        var checkpoint = CapfiltShardCheckpoint.Read(resume);
        if (checkpoint is null || checkpoint.Plan != plan)
        {
            run.Logger.LogWarning(
                "Checkpoint {Checkpoint} was not written with this run's shards and sampling ({Plan}); starting from the first shard", Path.GetFileName(resume), plan);
            return [];
        }

        run.Logger.LogInformation("Resumed after {Shards} of {Total} shards", checkpoint.Shards.Count, plan.ShardCount);
        return checkpoint.Shards;
    }

    /// <summary>The dataset's image paths, as its annotation file names them, by image id.</summary>
    private static IReadOnlyList<string> ImageNames(string folder) =>
        BlipAnnotationReader.Read(Path.Combine(folder, BlipAnnotationReader.FileName), folder, BadDataPolicy.Fail).ImageNames;

    private static InputFolder Single(IReadOnlyList<InputFolder> artifacts, string input) => artifacts.Count == 1
        ? artifacts[0]
        : throw new InvalidOperationException($"input '{input}' takes one artifact, but {artifacts.Count} are bound; bind one");
}
