using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Tasks.Scoring;

namespace Trainer.Worker.Runners;

/// <summary>Runs <c>evaluate</c>: its options mapped onto <see cref="EvaluateTask"/>, which the stage's ports run.</summary>
public sealed class EvaluateRunner : IStageRunner
{
    public string Kind => EvaluateTask.Kind;

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var task = new EvaluateTask(BlipOptionsMapping.Evaluate(context.GetOptions<EvaluateOptions>()));
        return StageTaskPorts.RunAsync(context, task.RunAsync, cancellationToken);
    }
}
