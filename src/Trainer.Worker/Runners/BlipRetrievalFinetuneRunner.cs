using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Tasks.Pretraining;
using VisionLanguage.Tasks.Retrieval;

namespace Trainer.Worker.Runners;

/// <summary>
/// Runs <c>blip.finetune.retrieval</c>: its options mapped onto <see cref="BlipRetrievalTask"/> (the model's shape is
/// the init checkpoint's; the ITC/ITM values are the stage's), which the stage's ports run.
/// </summary>
public sealed class BlipRetrievalFinetuneRunner(IBlipBatchSourceFactory data) : IStageRunner
{
    public string Kind => BlipRetrievalTask.Kind;

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var options = context.GetOptions<BlipRetrievalOptions>();
        var task = new BlipRetrievalTask(data, BlipOptionsMapping.Objectives(options), BlipOptionsMapping.ImageText(options));
        return StageTaskPorts.RunAsync(context, task.RunAsync, cancellationToken);
    }
}
