using Microsoft.Extensions.Logging;
using VisionLanguage.Data;
using VisionLanguage.Evaluation;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Captioning;

/// <summary>How a caption finetune trains, reads its data, and captions the evaluation images.</summary>
public sealed record BlipCaptionSettings
{
    public required TrainerSettings Trainer { get; init; }

    /// <summary>Batches, crops, image size and caption length (the prompt included); its batch size and seed are the trainer's.</summary>
    public required LoaderSettings Loader { get; init; }

    public BadDataPolicy BadData { get; init; } = BadDataPolicy.Fail;

    /// <summary>The text the decoder starts from; the loss covers only the caption after it (BLIP's "a picture of ").</summary>
    public string Prompt { get; init; } = "a picture of ";

    /// <summary>The LM loss's label smoothing (BLIP: 0.1).</summary>
    public double LabelSmoothing { get; init; } = 0.1;

    public required CaptionDecodingSettings Decoding { get; init; }
}

/// <summary>
/// BLIP caption finetuning (LAVIS <c>blip_caption</c>): the checkpoint of input <c>init</c>, whose shape the model takes,
/// finetuned with the LM objective alone on input <c>train</c>, each caption after the prompt and the loss on the
/// caption's tokens only; resumes exactly from the run's checkpoint. On input <c>eval</c>, when bound, captions every
/// image with the configured decoding and reports BLEU-4 and CIDEr-D with a few sample captions. The output is the
/// captioner: weights, state, the vocabulary, the prompt (<see cref="CaptionerCheckpoint"/>) and the samples.
/// </summary>
public sealed class BlipCaptionTask(BlipCaptionSettings settings)
{
    public const string Kind = "blip.finetune.caption";

    private const int SampleCaptions = 5;

    public async Task<TaskResult> RunAsync(TaskRun run, CancellationToken cancellationToken)
    {
        var device = TaskTraining.ModelDevice(run, trainsAsGang: true);
        var init = (await run.Inputs.FetchAsync("init", cancellationToken)).SingleOrDefault();
        var (initModel, tokens) = BlipInitCheckpoint.Read(init, settings.Loader.ImageSize);
        var vocabularyPath = Path.Combine(init!.Directory, BlipVocabulary.FileName);
        if (!File.Exists(vocabularyPath))
        {
            throw new InvalidDataException(
                $"input init ({init.Name}) has no {BlipVocabulary.FileName}, so its token ids cannot be read; bind the checkpoint output of a blip.pretrain stage");
        }

        // Everything about the settings is checked before training starts.
        var tokenizer = BlipTokenizer.FromVocabFile(vocabularyPath);
        var prompt = CaptionPrompt.Tokenize(tokenizer, settings.Prompt);
        if (prompt.Length + 2 > settings.Loader.MaxTextLength)
        {
            throw new ArgumentException(
                $"max_text_length {settings.Loader.MaxTextLength} leaves no room for a caption after the prompt's {prompt.Length} tokens ([DEC] included) and [SEP]; raise it");
        }

        var config = initModel with { LabelSmoothing = settings.LabelSmoothing };
        using var trainer = new Trainer<BlipCaptionModel, BlipPretrainBatch>(
            _ => new BlipCaptionModel(config, tokens, settings.Trainer.Seed, prompt.Length, device), settings.Trainer, TaskTraining.Replicas(run), run.Gang);
        var captioner = new CaptionGenerator(trainer.Model, tokenizer, settings.Prompt, settings.Decoding);

        var train = await run.Inputs.FetchAsync("train", cancellationToken);
        var eval = await run.Inputs.FetchAsync("eval", cancellationToken);
        using var trainSet = BlipDataset.Open([.. train.Select(input => BlipDatasetSource.Folder(input.Directory))], settings.BadData);
        using var evalSet = eval.Count > 0 ? BlipDataset.Open([.. eval.Select(input => BlipDatasetSource.Folder(input.Directory))], settings.BadData) : null;
        var layout = TaskTraining.Layout(run);
        var shardLoader = settings.Loader with { BatchSize = TaskTraining.BatchPerReplica(settings.Loader.BatchSize, layout) };
        var shards = layout.Ranks
            .Select(rank => (IBatchSource<BlipPretrainBatch>)new BlipLoaderBatchSource(
                BlipDataLoader.ForTraining(trainSet, tokenizer, shardLoader, rank, layout.WorldSize, captionPrefix: settings.Prompt)))
            .ToList();

        var summary = await TaskTraining.TrainAsync(run, trainer, shards, init, cancellationToken);
        var metrics = TaskTraining.FinalMetrics(summary);
        if (!TaskTraining.WritesOutputs(run))
        {
            return TaskResult.RankFinished(metrics);
        }

        IReadOnlyList<CaptionSample> samples = [];
        if (evalSet is not null)
        {
            using var sampling = new Generator(unchecked((ulong)settings.Trainer.Seed));
            var result = CaptionEvaluation.Evaluate(
                captioner, evalSet, settings.Loader.ImageSize, settings.Loader.BatchSize, sampling, SampleCaptions, TaskPulse.Of(run, cancellationToken));
            foreach (var (name, value) in result.Metrics())
            {
                metrics[name] = value;
            }

            samples = result.Samples;
            run.Logger.LogInformation(
                "Captions of {Images} images ({Decoding}): BLEU-4 {Bleu4:F3}, CIDEr-D {Cider:F3}", result.Images, settings.Decoding.Search, result.Bleu4, result.CiderD);
            foreach (var sample in samples)
            {
                run.Logger.LogInformation("{Image}: \"{Generated}\" (reference: \"{Reference}\")", sample.Image, sample.Generated, sample.References[0]);
            }
        }

        var output = TaskTraining.ExportCheckpoint(run, trainer, metrics);
        File.Copy(vocabularyPath, Path.Combine(output, BlipVocabulary.FileName));
        CaptionerCheckpoint.WritePrompt(output, prompt);
        if (samples.Count > 0)
        {
            CaptionerCheckpoint.WriteSamples(output, samples);
        }

        return TaskResult.Checkpoint(output, metrics);
    }
}
