using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Models.Blip;

namespace Trainer.Worker.Runners;

/// <summary>
/// Runs <c>blip.finetune.retrieval</c>: ITC (with momentum distillation and the feature queue, as in pretraining) and
/// ITM finetuning of the BLIP checkpoint bound to input <c>init</c>, with exact resume from the run's checkpoints;
/// The model's shape is the init checkpoint's; the ITC/ITM training values are the stage's options. Reports
/// recall@1/5/10 both ways on input <c>eval</c>, ITC top-<c>eval_top_k</c> re-ranked by ITM. The output checkpoint
/// (the CapFilt filter) carries the vocabulary of its init checkpoint.
/// </summary>
public sealed class BlipRetrievalFinetuneRunner(IBlipBatchSourceFactory data) : IStageRunner
{
    public string Kind => "blip.finetune.retrieval";

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var options = context.GetOptions<BlipRetrievalOptions>();
        return BlipTrainingStage.RunAsync(
            context,
            data,
            options,
            (opened, init) => BlipOptionsMapping.RetrievalConfig(BlipInitCheckpoint.Read(init, options.ImageSize, opened.VocabSize).Model, options),
            (config, tokens, seed, swaps) => new BlipRetrievalModel(config, tokens, seed, swaps),
            cancellationToken);
    }
}
