using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Tasks.Blip2;
using VisionLanguage.Tasks.Pretraining;

namespace Trainer.Worker.Runners;

/// <summary>Runs <c>blip2.stage1</c>: its options mapped onto <see cref="Blip2Stage1Task"/>, which the stage's ports run.</summary>
public sealed class Blip2Stage1Runner(IBlipBatchSourceFactory data) : IStageRunner
{
    public string Kind => Blip2Stage1Task.Kind;

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var task = new Blip2Stage1Task(data, BlipOptionsMapping.Blip2Stage1(context.GetOptions<Blip2Stage1Options>()));
        return StageTaskPorts.RunAsync(context, task.RunAsync, cancellationToken);
    }
}
