using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Tasks.Blip2;

namespace Trainer.Worker.Runners;

/// <summary>Runs <c>blip2.stage2</c>: its options mapped onto <see cref="Blip2Stage2Task"/>, which the stage's ports run.</summary>
public sealed class Blip2Stage2Runner : IStageRunner
{
    public string Kind => Blip2Stage2Task.Kind;

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var task = new Blip2Stage2Task(LlmOptionsMapping.Blip2Stage2(context.GetOptions<Blip2Stage2Options>()));
        return StageTaskPorts.RunAsync(context, task.RunAsync, cancellationToken);
    }
}
