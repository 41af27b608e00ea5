using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Tasks.Captioning;

namespace Trainer.Worker.Runners;

/// <summary>Runs <c>blip.finetune.caption</c>: its options mapped onto <see cref="BlipCaptionTask"/>, which the stage's ports run.</summary>
public sealed class BlipCaptionRunner : IStageRunner
{
    public string Kind => BlipCaptionTask.Kind;

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var task = new BlipCaptionTask(BlipOptionsMapping.Caption(context.GetOptions<BlipCaptionOptions>()));
        return StageTaskPorts.RunAsync(context, task.RunAsync, cancellationToken);
    }
}
