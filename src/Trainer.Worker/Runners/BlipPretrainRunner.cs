using Orchestrator.Contracts.Catalog.Options;
using VisionLanguage.Models.Blip;

namespace Trainer.Worker.Runners;

/// <summary>
/// Runs <c>blip.pretrain</c>: options → model → the training loop (<see cref="VisionLanguage.Training.Trainer{TModel, TBatch}"/>) → checkpoints and the output checkpoint.
/// Resumes exactly from the run's last checkpoint when given one, otherwise starts from input <c>init</c> when bound;
/// evaluates zero-shot retrieval on input <c>eval</c> when bound. Batches come from the data side through
/// <see cref="IBlipBatchSourceFactory"/>.
/// </summary>
public sealed class BlipPretrainRunner(IBlipBatchSourceFactory data) : IStageRunner
{
    public string Kind => "blip.pretrain";

    public Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken)
    {
        var options = context.GetOptions<BlipPretrainOptions>();
        return BlipTrainingStage.RunAsync(
            context,
            data,
            options,
            (opened, _) => BlipOptionsMapping.ModelConfig(options, opened.VocabSize, opened.Tokens.PadId),
            (config, tokens, seed, swaps) => new BlipPretrainModel(config, tokens, seed, swaps),
            cancellationToken);
    }
}
