using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Tasks.Nlvr2;
using VisionLanguage.Tasks.Vqa;

namespace Trainer.Worker.Runners;

/// <summary>Runs <c>blip.finetune.vqa</c>: its options mapped onto <see cref="BlipVqaTask"/>, which the stage's ports run.</summary>
public sealed class BlipVqaRunner : IStageRunner
{
    public string Kind => BlipVqaTask.Kind;

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var task = new BlipVqaTask(BlipOptionsMapping.Vqa(context.GetOptions<BlipVqaOptions>()));
        return StageTaskPorts.RunAsync(context, task.RunAsync, cancellationToken);
    }
}

/// <summary>Runs <c>blip.finetune.nlvr2</c>: its options mapped onto <see cref="BlipNlvr2Task"/>, which the stage's ports run.</summary>
public sealed class BlipNlvr2Runner : IStageRunner
{
    public string Kind => BlipNlvr2Task.Kind;

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var task = new BlipNlvr2Task(BlipOptionsMapping.Nlvr2(context.GetOptions<BlipNlvr2Options>()));
        return StageTaskPorts.RunAsync(context, task.RunAsync, cancellationToken);
    }
}
