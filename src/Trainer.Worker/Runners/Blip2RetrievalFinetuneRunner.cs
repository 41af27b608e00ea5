using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Tasks.Blip2Finetunes;
using VisionLanguage.Tasks.Pretraining;

namespace Trainer.Worker.Runners;

/// <summary>Runs <c>blip2.finetune.retrieval</c>: its options mapped onto <see cref="Blip2RetrievalFinetuneTask"/>, which the stage's ports run.</summary>
public sealed class Blip2RetrievalFinetuneRunner(IBlipBatchSourceFactory data) : IStageRunner
{
    public string Kind => Blip2RetrievalFinetuneTask.Kind;

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var options = context.GetOptions<Blip2RetrievalFinetuneOptions>();
        var task = new Blip2RetrievalFinetuneTask(data, new Blip2RetrievalFinetuneSettings
        {
            Trainer = BlipOptionsMapping.Trainer(options),
            Loader = BlipOptionsMapping.Loader(options),
            BadData = BlipOptionsMapping.BadData(options.OnBadData),
            LabelSmoothing = options.LabelSmoothing,
            ItmHardNegativeShare = options.ItmHardNegativeShare,
            EvalTopK = options.EvalTopK,
        });
        return StageTaskPorts.RunAsync(context, task.RunAsync, cancellationToken);
    }
}
