using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Tasks.Pretraining;

namespace Trainer.Worker.Runners;

/// <summary>Runs <c>blip.pretrain</c>: its options mapped onto <see cref="BlipPretrainTask"/>, which the stage's ports run.</summary>
public sealed class BlipPretrainRunner(IBlipBatchSourceFactory data) : IStageRunner
{
    public string Kind => BlipPretrainTask.Kind;

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var options = context.GetOptions<BlipPretrainOptions>();
        var task = new BlipPretrainTask(data, BlipOptionsMapping.ModelConfig(options), BlipOptionsMapping.ImageText(options));
        return StageTaskPorts.RunAsync(context, task.RunAsync, cancellationToken);
    }
}
