using Microsoft.Extensions.Logging;
using VisionLanguage.Data;
using VisionLanguage.Models;
using VisionLanguage.Models.Blip;
using VisionLanguage.Tasks.Retrieval;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Pretraining;

/// <summary>
/// The run that <see cref="BlipPretrainTask"/> and <see cref="BlipRetrievalTask"/> share: data → model → the training
/// loop → retrieval evaluation on input <c>eval</c> (ITC top-k re-ranked by ITM) → the output checkpoint with its
/// vocabulary. The tasks differ in their model and where its shape comes from.
/// </summary>
internal static class BlipImageTextTraining
{
    /// <summary>
    /// Trains the model <paramref name="createModel"/> builds (from the config, the special ids, the seed, the caption
    /// swaps and the device), of the config <paramref name="configure"/> gives for the opened data and input <c>init</c>.
    /// </summary>
    public static async Task<TaskResult> RunAsync<TModel>(
        TaskRun run, IBlipBatchSourceFactory data, BlipImageTextSettings settings,
        Func<BlipRunData, InputFolder?, BlipModelConfig> configure,
        Func<BlipModelConfig, BlipSpecialTokens, long, CaptionSwaps?, Device, TModel> createModel, CancellationToken cancellationToken)
        where TModel : class, ITrainableModel<BlipPretrainBatch>, IBlipImageText
    {
        var device = TaskTraining.ModelDevice(run, trainsAsGang: true);
        var train = await run.Inputs.FetchAsync("train", cancellationToken);
        var eval = await run.Inputs.FetchAsync("eval", cancellationToken);
        var init = (await run.Inputs.FetchAsync("init", cancellationToken)).FirstOrDefault();
        using var opened = data.Open(
            new BlipDataRequest(
                [.. train.Select(input => input.Directory)], [.. eval.Select(input => input.Directory)], init?.Directory,
                settings.Loader,
                settings.BadData),
            TaskTraining.Layout(run));
        var config = configure(opened, init);
        var swaps = LearnSwaps(run, opened, config);
        using var trainer = new Trainer<TModel, BlipPretrainBatch>(
            _ => createModel(config, opened.Tokens, settings.Trainer.Seed, swaps, device), settings.Trainer, TaskTraining.Replicas(run), run.Gang);
        trainer.CheckGlobalBatch(opened.Shards[0].BatchSize);

        var summary = await TaskTraining.TrainAsync(run, trainer, opened.Shards, init, cancellationToken);
        var metrics = TaskTraining.FinalMetrics(summary);
        if (!TaskTraining.WritesOutputs(run))
        {
            return TaskResult.RankFinished(metrics);
        }

        if (opened.Eval is { } evalSource)
        {
            var retrieval = BlipRetrievalEvaluation.Evaluate(trainer.Model, ReadAll(evalSource, cancellationToken), settings.EvalTopK, TaskPulse.Of(run, cancellationToken));
            foreach (var (name, value) in retrieval.Metrics())
            {
                metrics[name] = value;
            }

            run.Logger.LogInformation(
                "Retrieval on {Images} images and {Texts} captions: image→text R@1 {I2T:P1}, text→image R@1 {T2I:P1}",
                retrieval.Images, retrieval.Texts, retrieval.ImageToTextR1, retrieval.TextToImageR1);
        }

        var output = TaskTraining.ExportCheckpoint(run, trainer, metrics);
        if (opened.Vocabulary.Count > 0)
        {
            BlipVocabulary.Write(Path.Combine(output, BlipVocabulary.FileName), opened.Vocabulary);
        }

        return TaskResult.Checkpoint(output, metrics);
    }

    /// <summary>The one-word edits of the training captions, when ITM draws swapped negatives; null otherwise.</summary>
    private static CaptionSwaps? LearnSwaps(TaskRun run, BlipRunData opened, BlipModelConfig config)
    {
        if (config.ItmSwapNegativeShare <= 0)
        {
            return null;
        }

        var captions = opened.TrainCaptionIds().ToList();
        var swaps = CaptionSwaps.Learn(captions, opened.Tokens.All);
        var editable = swaps.EditableShare(captions);
        run.Logger.LogInformation(
            "ITM swaps one word in {Share:P0} of negative captions, keeping the hardest of {Candidates} swaps: {Contexts} contexts have alternatives, {Editable:P1} of {Captions} training captions can be edited",
            config.ItmSwapNegativeShare, config.ItmSwapCandidates, swaps.Contexts, editable, captions.Count);
        if (editable == 0)
        {
            throw new InvalidDataException(
                $"itm_swap_negative_share is {config.ItmSwapNegativeShare}, but no word of the {captions.Count} training captions has another word seen " +
                "between the same two neighbours, so no caption can be edited; set itm_swap_negative_share to 0 for this data");
        }

        return swaps;
    }

    private static IEnumerable<BlipPretrainBatch> ReadAll(IBlipBatchSource source, CancellationToken cancellationToken) =>
        source.ReadEpochAsync(0, 0, cancellationToken).ToBlockingEnumerable(cancellationToken);
}
