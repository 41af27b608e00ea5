using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Tasks.Blip2Finetunes;

namespace Trainer.Worker.Runners;

/// <summary>Runs <c>blip2.finetune.caption</c>: its options mapped onto <see cref="Blip2CaptionFinetuneTask"/>, which the stage's ports run.</summary>
public sealed class Blip2CaptionFinetuneRunner : IStageRunner
{
    public string Kind => Blip2CaptionFinetuneTask.Kind;

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var task = new Blip2CaptionFinetuneTask(LlmOptionsMapping.Blip2CaptionFinetune(context.GetOptions<Blip2CaptionFinetuneOptions>()));
        return StageTaskPorts.RunAsync(context, task.RunAsync, cancellationToken);
    }
}
