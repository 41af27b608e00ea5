using VisionLanguage.Models.Blip;
using VisionLanguage.Tasks.Pretraining;
using VisionLanguage.Tasks.Running;

namespace VisionLanguage.Tasks.Retrieval;

/// <summary>
/// The ITC and ITM values a retrieval finetune trains with, over the shape of its init checkpoint: the feature queue,
/// momentum distillation, temperature and the ITM negatives.
/// </summary>
public sealed record BlipRetrievalObjectives
{
    public required int QueueSize { get; init; }

    public required double Momentum { get; init; }

    public required double Alpha { get; init; }

    public required double Temperature { get; init; }

    public required double ItmHardNegativeShare { get; init; }

    public required double ItmSwapNegativeShare { get; init; }

    public required int ItmSwapCandidates { get; init; }

    /// <summary>The model of <paramref name="init"/>'s shape trained with these values.</summary>
    public BlipModelConfig ApplyTo(BlipModelConfig init) => init with
    {
        QueueSize = QueueSize,
        Momentum = Momentum,
        Temperature = Temperature,
        ItmHardNegativeShare = ItmHardNegativeShare,
        ItmSwapNegativeShare = ItmSwapNegativeShare,
        ItmSwapCandidates = ItmSwapCandidates,
        Alpha = Alpha,
    };
}

/// <summary>
/// BLIP retrieval finetuning (LAVIS <c>blip_retrieval</c>): ITC (with momentum distillation and the feature queue, as in
/// pretraining) and ITM on input <c>train</c>, from the checkpoint of input <c>init</c>, whose shape the model takes;
/// resumes exactly from the run's checkpoint; reports recall@1/5/10 both ways on input <c>eval</c>, ITC top-k re-ranked
/// by ITM. The output checkpoint (CapFilt's filter) carries the vocabulary of its init checkpoint.
/// </summary>
public sealed class BlipRetrievalTask(IBlipBatchSourceFactory data, BlipRetrievalObjectives objectives, BlipImageTextSettings settings)
{
    public const string Kind = "blip.finetune.retrieval";

    public Task<TaskResult> RunAsync(TaskRun run, CancellationToken cancellationToken) =>
        BlipImageTextTraining.RunAsync(
            run,
            data,
            settings,
            (opened, init) => objectives.ApplyTo(BlipInitCheckpoint.Read(init, settings.Loader.ImageSize, opened.VocabSize).Model),
            (config, tokens, seed, swaps, device) => new BlipRetrievalModel(config, tokens, seed, swaps, device),
            cancellationToken);
}
