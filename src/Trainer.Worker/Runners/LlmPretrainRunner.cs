using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Tasks.Llm;

namespace Trainer.Worker.Runners;

/// <summary>Runs <c>llm.pretrain</c>: its options mapped onto <see cref="LlmPretrainTask"/>, which the stage's ports run.</summary>
public sealed class LlmPretrainRunner : IStageRunner
{
    public string Kind => LlmPretrainTask.Kind;

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var task = new LlmPretrainTask(LlmOptionsMapping.LlmPretrain(context.GetOptions<LlmPretrainOptions>()));
        return StageTaskPorts.RunAsync(context, task.RunAsync, cancellationToken);
    }
}
