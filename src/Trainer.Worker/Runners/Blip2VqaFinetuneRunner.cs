using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Tasks.Blip2Finetunes;

namespace Trainer.Worker.Runners;

/// <summary>Runs <c>blip2.finetune.vqa</c>: its options mapped onto <see cref="Blip2VqaFinetuneTask"/>, which the stage's ports run.</summary>
public sealed class Blip2VqaFinetuneRunner : IStageRunner
{
    public string Kind => Blip2VqaFinetuneTask.Kind;

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var task = new Blip2VqaFinetuneTask(LlmOptionsMapping.Blip2VqaFinetune(context.GetOptions<Blip2VqaFinetuneOptions>()));
        return StageTaskPorts.RunAsync(context, task.RunAsync, cancellationToken);
    }
}
