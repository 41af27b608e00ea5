using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Tasks.Capfilt;

namespace Trainer.Worker.Runners;

/// <summary>Runs <c>blip.capfilt</c>: its options mapped onto <see cref="CapfiltTask"/>, which the stage's ports run.</summary>
public sealed class BlipCapfiltRunner : IStageRunner
{
    public string Kind => CapfiltTask.Kind;

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var task = new CapfiltTask(BlipOptionsMapping.Capfilt(context.GetOptions<BlipCapfiltOptions>()));
        return StageTaskPorts.RunAsync(context, task.RunAsync, cancellationToken);
    }
}
