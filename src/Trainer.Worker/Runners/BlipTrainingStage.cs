using Microsoft.Extensions.Logging;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Messages;
using VisionLanguage.Data;
using VisionLanguage.Models;
using VisionLanguage.Models.Blip;
using VisionLanguage.Tasks.Retrieval;
using VisionLanguage.Training;

namespace Trainer.Worker.Runners;

/// <summary>
/// The training run that <c>blip.pretrain</c> and <c>blip.finetune.retrieval</c> share: options → model →
/// the training loop (<see cref="VisionLanguage.Training.Trainer{TModel, TBatch}"/>) → checkpoints, retrieval evaluation on input <c>eval</c> (ITC top-k re-ranked by ITM),
/// and the output checkpoint with its vocabulary. Resumes exactly from the run's last checkpoint when given one,
/// otherwise starts from input <c>init</c> when bound.
/// </summary>
internal static class BlipTrainingStage
{
    /// <summary>Replicas trained in this process; more than one pays off only with one device per replica.</summary>
    private const int Replicas = 1;

    /// <summary>
    /// Trains the model <paramref name="createModel"/> builds (from the config, the special ids, the seed and the caption
    /// swaps), of the config <paramref name="configure"/> gives for the opened data and input <c>init</c> (when bound).
    /// </summary>
    public static async Task<StageRunResult> RunAsync<TModel>(
        StageRunContext context, IBlipBatchSourceFactory data, BlipContrastiveOptions options,
        Func<BlipRunData, LocalArtifact?, BlipModelConfig> configure,
        Func<BlipModelConfig, BlipSpecialTokens, long, CaptionSwaps?, TModel> createModel, CancellationToken cancellationToken)
        where TModel : class, ITrainableModel<BlipPretrainBatch>, IBlipImageText
    {
        if (context.Run.WorldSize > 1)
        {
            throw new NotSupportedException(
                $"{context.Kind.Name} runs on one worker (data parallel across replicas in its process); this run asks for a gang of {context.Run.WorldSize}; request workers: 1");
        }

        if (context.Device != "cpu")
        {
            context.Logger.LogWarning("Device {Device}: the BLIP model is not yet placed on accelerators; training on the CPU", context.Device);
        }

        await using var opened = await data.OpenAsync(context, options, Replicas, cancellationToken);
        var init = (await context.FetchInputAsync("init", cancellationToken)).FirstOrDefault();
        var config = configure(opened, init);
        var settings = BlipOptionsMapping.Trainer(options);
        var swaps = LearnSwaps(context, opened, options);
        using var trainer = new Trainer<TModel, BlipPretrainBatch>(_ => createModel(config, opened.Tokens, settings.Seed, swaps), settings, Replicas);
        trainer.CheckGlobalBatch(opened.Shards[0].BatchSize);
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
        var summary = await trainer.TrainAsync(opened.Shards, hooks, cancellationToken: cancellationToken);
        context.Logger.LogInformation("{Kind} finished at step {Step} of {Total}", context.Kind.Name, summary.Position.Step, summary.TotalSteps);

        var metrics = new Dictionary<string, double>(summary.LastStep?.Metrics() ?? new Dictionary<string, double>());
        if (opened.Eval is { } eval)
        {
            var retrieval = BlipRetrievalEvaluation.Evaluate(trainer.Model, ReadAll(eval, cancellationToken), options.EvalTopK);
            foreach (var (name, value) in retrieval.Metrics())
            {
                metrics[name] = value;
            }

            context.Logger.LogInformation(
                "Retrieval on {Images} images and {Texts} captions: image→text R@1 {I2T:P1}, text→image R@1 {T2I:P1}",
                retrieval.Images, retrieval.Texts, retrieval.ImageToTextR1, retrieval.TextToImageR1);
        }

        var output = Path.Combine(context.WorkDirectory, "output");
        trainer.SaveCheckpoint(output, metrics);
        // Downstream stages need the weights, the state (shapes, tokens) and the vocabulary, not the optimiser's moments.
        File.Delete(Path.Combine(output, CheckpointFiles.Optimizer));
        if (opened.Vocabulary.Count > 0)
        {
            BlipVocabulary.Write(Path.Combine(output, BlipVocabulary.FileName), opened.Vocabulary);
        }

        var checkpoint = await context.CommitOutputAsync("checkpoint", output, metrics, cancellationToken);
        return new StageRunResult
        {
            Outputs = new Dictionary<string, ArtifactReference> { ["checkpoint"] = checkpoint },
            Metrics = metrics,
        };
    }

    /// <summary>The one-word edits of the training captions, when ITM draws swapped negatives; null otherwise.</summary>
    private static CaptionSwaps? LearnSwaps(StageRunContext context, BlipRunData opened, BlipContrastiveOptions options)
    {
        if (options.ItmSwapNegativeShare <= 0)
        {
            return null;
        }

        var captions = opened.TrainCaptionIds().ToList();
        var swaps = CaptionSwaps.Learn(captions, opened.Tokens.All);
        var editable = swaps.EditableShare(captions);
        context.Logger.LogInformation(
            "ITM swaps one word in {Share:P0} of negative captions, keeping the hardest of {Candidates} swaps: {Contexts} contexts have alternatives, {Editable:P1} of {Captions} training captions can be edited",
            options.ItmSwapNegativeShare, options.ItmSwapCandidates, swaps.Contexts, editable, captions.Count);
        if (editable == 0)
        {
            throw new InvalidDataException(
                $"itm_swap_negative_share is {options.ItmSwapNegativeShare}, but no word of the {captions.Count} training captions has another word seen " +
                "between the same two neighbours, so no caption can be edited; set itm_swap_negative_share to 0 for this data");
        }

        return swaps;
    }

    private static async Task RestoreAsync<TModel>(
        StageRunContext context, Trainer<TModel, BlipPretrainBatch> trainer, LocalArtifact? init, CancellationToken cancellationToken)
        where TModel : class, ITrainableModel<BlipPretrainBatch>
    {
        if (await context.FetchResumeCheckpointAsync(cancellationToken) is { } resume)
        {
            var exact = trainer.LoadCheckpoint(resume.Directory);
            context.Logger.LogInformation(
                "Resumed at step {Step} (epoch {Epoch}, batch {Batch}){Exactness}", trainer.Position.Step, trainer.Position.Epoch,
                trainer.Position.BatchInEpoch, exact ? "" : " with reseeded generators: the checkpoint had another number of replicas");
            return;
        }

        if (init is not null)
        {
            var report = trainer.LoadInitialWeights(Path.Combine(init.Directory, CheckpointFiles.Weights));
            context.Logger.LogInformation(
                "Started from {Init}: {Missing} tensors kept fresh, {Unexpected} ignored, adapted: {Adapted}",
                init.Manifest.Draft.Name, report.Missing.Count, report.Unexpected.Count, string.Join("; ", report.Adapted));
        }
    }

    private static IEnumerable<BlipPretrainBatch> ReadAll(IBlipBatchSource source, CancellationToken cancellationToken) =>
        source.ReadEpochAsync(0, 0, cancellationToken).ToBlockingEnumerable(cancellationToken);
}
