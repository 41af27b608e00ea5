using Microsoft.Extensions.Logging;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Messages;
using VisionLanguage.Data;
using VisionLanguage.Evaluation;
using VisionLanguage.Models.Blip;
using VisionLanguage.Tasks.Captioning;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace Trainer.Worker.Runners;

/// <summary>
/// Runs <c>blip.finetune.caption</c> (LAVIS <c>blip_caption</c>): the BLIP checkpoint of input <c>init</c> finetuned
/// with the LM objective alone on input <c>train</c>, each caption after the prompt and the loss on the caption's tokens
/// only; resumes exactly from the run's last checkpoint when given one. On input <c>eval</c>, when bound, captions every
/// image with the configured decoding and reports BLEU-4 and CIDEr-D with a few sample captions. The output is the
/// captioner: weights, state, the vocabulary, the prompt (<see cref="CaptionerCheckpoint"/>) and the samples.
/// </summary>
public sealed class BlipCaptionRunner : IStageRunner
{
    private const int Replicas = 1;
    private const int SampleCaptions = 5;

    public string Kind => "blip.finetune.caption";

    public async Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var options = context.GetOptions<BlipCaptionOptions>();
        if (context.Run.WorldSize > 1)
        {
            throw new NotSupportedException(
                $"blip.finetune.caption runs on one worker; this run asks for a gang of {context.Run.WorldSize}; request workers: 1");
        }

        if (context.Device != "cpu")
        {
            context.Logger.LogWarning("Device {Device}: the BLIP model is not yet placed on accelerators; training on the CPU", context.Device);
        }

        var init = (await context.FetchInputAsync("init", cancellationToken)).Single();
        var (initModel, tokens) = BlipInitCheckpoint.Read(init, options.ImageSize);
        var vocabularyPath = Path.Combine(init.Directory, BlipVocabulary.FileName);
        if (!File.Exists(vocabularyPath))
        {
            throw new InvalidDataException(
                $"input init ({init.Manifest.Draft.Name}) has no {BlipVocabulary.FileName}, so its token ids cannot be read; bind the checkpoint output of a blip.pretrain stage");
        }

        // Everything about the options is checked before training starts.
        var tokenizer = BlipTokenizer.FromVocabFile(vocabularyPath);
        var prompt = CaptionPrompt.Tokenize(tokenizer, options.Prompt);
        if (prompt.Length + 2 > options.MaxTextLength)
        {
            throw new ArgumentException(
                $"max_text_length {options.MaxTextLength} leaves no room for a caption after the prompt's {prompt.Length} tokens ([DEC] included) and [SEP]; raise it");
        }

        var config = initModel with { LabelSmoothing = options.LabelSmoothing };
        var settings = BlipOptionsMapping.Trainer(options);
        using var trainer = new Trainer<BlipCaptionModel, BlipPretrainBatch>(_ => new BlipCaptionModel(config, tokens, settings.Seed, prompt.Length), settings, Replicas);
        var captioner = new CaptionGenerator(trainer.Model, tokenizer, options.Prompt, BlipOptionsMapping.Decoding(options));

        var train = await context.FetchInputAsync("train", cancellationToken);
        var eval = await context.FetchInputAsync("eval", cancellationToken);
        using var trainSet = BlipDataset.Open([.. train.Select(artifact => BlipDatasetSource.Folder(artifact.Directory))], BlipOptionsMapping.BadData(options.OnBadData));
        using var evalSet = eval.Count > 0 ? BlipDataset.Open([.. eval.Select(artifact => BlipDatasetSource.Folder(artifact.Directory))], BlipOptionsMapping.BadData(options.OnBadData)) : null;
        var shard = new BlipLoaderBatchSource(BlipDataLoader.ForTraining(trainSet, tokenizer, BlipOptionsMapping.Loader(options), captionPrefix: options.Prompt));
        await RestoreAsync(context, trainer, init, cancellationToken);

        var hooks = new TrainingHooks
        {
            CheckpointRoot = Path.Combine(context.WorkDirectory, "checkpoints"),
            StepCompleted = report => context.ReportProgressAsync(report.Step, report.TotalSteps, report.Epoch, report.Metrics(), report.SamplesPerSecond),
            CheckpointWritten = async (directory, position, metrics) =>
            {
                await context.SaveCheckpointAsync(directory, position.Step, metrics);
                Directory.Delete(directory, recursive: true);
            },
        };
        var summary = await trainer.TrainAsync([shard], hooks, cancellationToken: cancellationToken);
        context.Logger.LogInformation("Caption finetuning finished at step {Step} of {Total}", summary.Position.Step, summary.TotalSteps);

        var metrics = new Dictionary<string, double>(summary.LastStep?.Metrics() ?? new Dictionary<string, double>());
        IReadOnlyList<CaptionSample> samples = [];
        if (evalSet is not null)
        {
            using var sampling = new Generator(unchecked((ulong)options.Seed));
            var result = CaptionEvaluation.Evaluate(captioner, evalSet, options.ImageSize, options.BatchSize, sampling, SampleCaptions, cancellationToken);
            foreach (var (name, value) in result.Metrics())
            {
                metrics[name] = value;
            }

            samples = result.Samples;
            context.Logger.LogInformation(
                "Captions of {Images} images ({Decoding}): BLEU-4 {Bleu4:F3}, CIDEr-D {Cider:F3}", result.Images, options.Decoding, result.Bleu4, result.CiderD);
            foreach (var sample in samples)
            {
                context.Logger.LogInformation("{Image}: \"{Generated}\" (reference: \"{Reference}\")", sample.Image, sample.Generated, sample.References[0]);
            }
        }

        var output = Path.Combine(context.WorkDirectory, "output");
        trainer.SaveCheckpoint(output, metrics);
        // A captioner needs the weights, the state (shapes, tokens), the vocabulary and the prompt; not the optimiser's moments.
        File.Delete(Path.Combine(output, CheckpointFiles.Optimizer));
        File.Copy(vocabularyPath, Path.Combine(output, BlipVocabulary.FileName));
        CaptionerCheckpoint.WritePrompt(output, prompt);
        if (samples.Count > 0)
        {
            CaptionerCheckpoint.WriteSamples(output, samples);
        }

        var checkpoint = await context.CommitOutputAsync("checkpoint", output, metrics, cancellationToken);
        return new StageRunResult
        {
            Outputs = new Dictionary<string, ArtifactReference> { ["checkpoint"] = checkpoint },
            Metrics = metrics,
        };
    }

    private static async Task RestoreAsync(StageRunContext context, Trainer<BlipCaptionModel, BlipPretrainBatch> trainer, LocalArtifact init, CancellationToken cancellationToken)
    {
        if (await context.FetchResumeCheckpointAsync(cancellationToken) is { } resume)
        {
            var exact = trainer.LoadCheckpoint(resume.Directory);
            context.Logger.LogInformation(
                "Resumed at step {Step} (epoch {Epoch}, batch {Batch}){Exactness}", trainer.Position.Step, trainer.Position.Epoch,
                trainer.Position.BatchInEpoch, exact ? "" : " with reseeded generators: the checkpoint had another number of replicas");
            return;
        }

        var report = trainer.LoadInitialWeights(Path.Combine(init.Directory, CheckpointFiles.Weights));
        context.Logger.LogInformation(
            "Started from {Init}: {Missing} tensors kept fresh, {Unexpected} ignored, adapted: {Adapted}",
            init.Manifest.Draft.Name, report.Missing.Count, report.Unexpected.Count, string.Join("; ", report.Adapted));
    }
}
