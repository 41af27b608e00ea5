using System.Text.Json;
using Microsoft.Extensions.Logging;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Tasks.Captioning;
using VisionLanguage.Tasks.Nlvr2;
using VisionLanguage.Tasks.Retrieval;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Tasks.Vqa;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Scoring;

/// <summary>What an evaluation scores a checkpoint on.</summary>
public enum ScoredTask
{
    /// <summary>Image-text retrieval both ways (a pretrained or retrieval-finetuned BLIP model, a BLIP-2 stage-1 or retrieval-finetuned Q-Former).</summary>
    Retrieval,

    /// <summary>Captioning (a caption-finetuned BLIP model, a BLIP-2 stage-2 or caption-finetuned model).</summary>
    Caption,

    /// <summary>Visual question answering (a VQA-finetuned BLIP or BLIP-2 model), answered as its finetune answered.</summary>
    Vqa,

    /// <summary>Whether a statement is true of a pair of images (an NLVR2-finetuned BLIP model).</summary>
    Nlvr2,
}

/// <summary>How <see cref="EvaluateTask"/> reads its dataset and scores (options of <c>evaluate</c>).</summary>
public sealed record EvaluateSettings
{
    public required ScoredTask Task { get; init; }

    public required int BatchSize { get; init; }

    /// <summary>Longest caption read, in tokens (retrieval).</summary>
    public required int MaxTextLength { get; init; }

    /// <summary>Candidates ITC ranks highest that ITM re-ranks (retrieval).</summary>
    public required int EvalTopK { get; init; }

    /// <summary>How captions are decoded (caption); its beam size is also VQA generation's.</summary>
    public required CaptionDecodingSettings Decoding { get; init; }

    /// <summary>Candidates kept per question by their first token's probability before full likelihood picks one (VQA ranking).</summary>
    public int AnswerCandidates { get; init; } = 128;

    /// <summary>Seed of nucleus sampling (caption).</summary>
    public required int Seed { get; init; }

    public BadDataPolicy BadData { get; init; } = BadDataPolicy.Fail;
}

/// <summary>
/// Scores the checkpoint of input <c>checkpoint</c> on input <c>dataset</c> with the metric of its task, as the finetunes
/// score theirs at their end (the same evaluation code, at the checkpoint's own image size), so a DAG compares two models
/// on one split: retrieval reads every captioned pair in file order, ranks by ITC and re-ranks the top k by ITM
/// (recall@1/5/10 both ways); caption decodes one caption per image (BLEU-4, CIDEr-D); vqa answers every question of the
/// dataset's VQA splits as the finetune answered (its inference method, candidate list and longest answer, from the
/// checkpoint) with the official VQA accuracy; nlvr2 judges every statement of its NLVR2 splits (accuracy, per kind).
/// BLIP-2 checkpoints (stage 1 and the retrieval finetune: retrieval; stage 2 and the caption finetune: caption; the VQA
/// finetune: vqa) are scored by <see cref="Blip2Scoring"/>, with the frozen encoder and LLM they reference as inputs
/// <c>image_encoder</c> and <c>llm</c>. The output <c>report</c> holds <see cref="MetricsFile"/> (and sample captions); the run's metrics are the same.
/// </summary>
public sealed class EvaluateTask(EvaluateSettings settings)
{
    public const string Kind = "evaluate";

    /// <summary>The report's metrics, by name, as JSON.</summary>
    public const string MetricsFile = "metrics.json";

    private const int SampleCaptions = 5;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public async Task<TaskResult> RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var device = TaskTraining.RunDevice(run);
        var checkpoint = (await run.Inputs.FetchAsync("checkpoint", cancellationToken)).SingleOrDefault()
            ?? throw new InvalidOperationException("evaluate needs input checkpoint; bind the output of the stage whose model it scores");
        var datasets = await run.Inputs.FetchAsync("dataset", cancellationToken);
        if (datasets.Count == 0)
        {
            throw new InvalidOperationException("evaluate needs input dataset; bind a dataset split, e.g. a dataset.synthetic's test output");
        }

        var report = Path.Combine(run.WorkDirectory, "report");
        Directory.CreateDirectory(report);
        var format = CheckpointFiles.ReadState(checkpoint.Directory).Format;
        var blip2 = new Blip2Scoring(settings, run, checkpoint, device, cancellationToken);
        var metrics = Blip2Scoring.Reads(format)
            ? settings.Task switch
            {
                ScoredTask.Retrieval => await blip2.RetrievalAsync(datasets),
                ScoredTask.Caption => await blip2.CaptionAsync(datasets, report),
                ScoredTask.Vqa => await blip2.VqaAsync(datasets),
                _ => throw new ArgumentException(
                    $"input checkpoint ({checkpoint.Name}) is a BLIP-2 model ({format}), which task {settings.Task.ToString().ToLowerInvariant()} does not score; BLIP-2 models are scored on retrieval, caption or vqa"),
            }
            : settings.Task switch
            {
                ScoredTask.Retrieval => Retrieval(run, checkpoint, datasets, device, cancellationToken),
                ScoredTask.Caption => Caption(run, checkpoint, datasets, device, report, cancellationToken),
                ScoredTask.Vqa => Vqa(run, checkpoint, datasets, device, cancellationToken),
                ScoredTask.Nlvr2 => Nlvr2(run, checkpoint, datasets, device, cancellationToken),
                _ => throw new ArgumentOutOfRangeException(nameof(settings), settings.Task, "no such evaluation task"),
            };
        await File.WriteAllTextAsync(Path.Combine(report, MetricsFile), JsonSerializer.Serialize(metrics, Json), cancellationToken);
        return new TaskResult(new Dictionary<string, string> { ["report"] = report }, metrics);
    }

    private BlipDataset Captioned(IReadOnlyList<InputFolder> datasets) =>
        BlipDataset.Open([.. datasets.Select(input => BlipDatasetSource.Folder(input.Directory))], settings.BadData);

    private Dictionary<string, double> Retrieval(
        TaskRun run, InputFolder checkpoint, IReadOnlyList<InputFolder> datasets, Device device, CancellationToken cancellationToken)
    {
        using var dataset = Captioned(datasets);
        using var model = BlipCheckpointModel.Load(checkpoint.Directory, $"input checkpoint ({checkpoint.Name})", device);
        return ScoreRetrieval(run, checkpoint, model.Model, model.Tokenizer, model.Model.Config.Vision.ImageSize, dataset, settings, cancellationToken);
    }

    /// <summary>
    /// Retrieval of <paramref name="model"/> on every captioned pair of <paramref name="dataset"/> in file order, read as a
    /// stage's <c>eval</c> input is read (<paramref name="tokenizer"/>, images at <paramref name="imageSize"/>): ITC ranks,
    /// ITM re-ranks the top k.
    /// </summary>
    internal static Dictionary<string, double> ScoreRetrieval(
        TaskRun run, InputFolder checkpoint, IImageTextRetrieval model, BlipTokenizer tokenizer, int imageSize, BlipDataset dataset, EvaluateSettings settings,
        CancellationToken cancellationToken)
    {
        var loader = new LoaderSettings
        {
            BatchSize = settings.BatchSize,
            Seed = settings.Seed,
            ImageSize = imageSize,
            MaxTextLength = settings.MaxTextLength,
        };
        var pairs = new BlipLoaderBatchSource(BlipDataLoader.ForEvaluation(dataset, tokenizer, loader))
            .ReadEpochAsync(0, 0, cancellationToken).ToBlockingEnumerable(cancellationToken);
        var result = BlipRetrievalEvaluation.Evaluate(model, pairs, settings.EvalTopK, TaskPulse.Of(run, cancellationToken));
        run.Logger.LogInformation(
            "Retrieval of {Checkpoint} on {Images} images and {Texts} captions: image→text R@1 {I2T:P1}, text→image R@1 {T2I:P1}",
            checkpoint.Name, result.Images, result.Texts, result.ImageToTextR1, result.TextToImageR1);
        return new Dictionary<string, double>(result.Metrics());
    }

    private Dictionary<string, double> Caption(
        TaskRun run, InputFolder checkpoint, IReadOnlyList<InputFolder> datasets, Device device, string report, CancellationToken cancellationToken)
    {
        using var dataset = Captioned(datasets);
        using var captioner = CaptionerCheckpoint.Load(checkpoint.Directory, device);
        var generator = new CaptionGenerator(captioner.Model, captioner.Tokenizer, captioner.Prompt, settings.Decoding);
        using var sampling = new Generator(unchecked((ulong)settings.Seed));
        var result = CaptionEvaluation.Evaluate(
            generator, dataset, captioner.Model.Config.Vision.ImageSize, settings.BatchSize, sampling, SampleCaptions, TaskPulse.Of(run, cancellationToken));
        CaptionerCheckpoint.WriteSamples(report, result.Samples);
        run.Logger.LogInformation(
            "Captions of {Checkpoint} for {Images} images: BLEU-4 {Bleu4:F3}, CIDEr-D {Cider:F3}", checkpoint.Name, result.Images, result.Bleu4, result.CiderD);
        return new Dictionary<string, double>(result.Metrics());
    }

    private Dictionary<string, double> Vqa(
        TaskRun run, InputFolder checkpoint, IReadOnlyList<InputFolder> datasets, Device device, CancellationToken cancellationToken)
    {
        using var vqa = VqaCheckpoint.Load(checkpoint.Directory, $"input checkpoint ({checkpoint.Name})", device);
        using var dataset = VqaDataset.Open(BlipVqaTask.Sources(datasets, "dataset"), settings.BadData);
        var answering = new VqaAnsweringSettings
        {
            Method = vqa.Inference,
            Candidates = settings.AnswerCandidates,
            BeamSize = settings.Decoding.BeamSize,
            MaxLength = vqa.MaxAnswerLength,
        };
        using var answerer = new VqaAnswerer(vqa.Model, vqa.Tokenizer, answering, settings.MaxTextLength, vqa.AnswerList);
        var (result, _) = answerer.Evaluate(dataset, vqa.Model.Config.Vision.ImageSize, settings.BatchSize, TaskPulse.Of(run, cancellationToken));
        run.Logger.LogInformation(
            "VQA ({Method}) of {Checkpoint} on {Questions} questions: accuracy {Accuracy:P1}", vqa.Inference, checkpoint.Name, result.Questions, result.Accuracy);
        return new Dictionary<string, double>(result.Metrics());
    }

    private Dictionary<string, double> Nlvr2(
        TaskRun run, InputFolder checkpoint, IReadOnlyList<InputFolder> datasets, Device device, CancellationToken cancellationToken)
    {
        using var nlvr2 = Nlvr2Checkpoint.Load(checkpoint.Directory, $"input checkpoint ({checkpoint.Name})", device);
        using var dataset = Nlvr2Dataset.Open(Nlvr2Dataset.SourcesOf([.. datasets.Select(input => input.Directory)], "dataset"), settings.BadData);
        var loader = new LoaderSettings
        {
            BatchSize = settings.BatchSize,
            Seed = settings.Seed,
            ImageSize = nlvr2.Model.Config.Vision.ImageSize,
            MaxTextLength = settings.MaxTextLength,
        };
        var result = BlipNlvr2Task.Evaluate(nlvr2.Model, nlvr2.Tokenizer, dataset, loader, TaskPulse.Of(run, cancellationToken));
        run.Logger.LogInformation("NLVR2 of {Checkpoint} on {Examples} statements: accuracy {Accuracy:P1}", checkpoint.Name, result.Examples, result.Accuracy);
        return new Dictionary<string, double>(result.Metrics());
    }
}
