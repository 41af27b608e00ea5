using Microsoft.Extensions.Options;
using Orchestrator.Contracts.Catalog.Options;
using Trainer.Worker.Runners;

namespace Trainer.Worker.TestHost;

/// <summary>Test-only <c>dataset.synthetic</c>: one step per ten web images, a checkpoint every five steps.</summary>
public sealed class SteppingDatasetRunner(IOptions<SteppingRunnerOptions> options) : SteppingRunner(options)
{
    public override string Kind => "dataset.synthetic";

    protected override (long Steps, long CheckpointEvery) Plan(StageRunContext context) =>
        (Math.Max(1, context.GetOptions<SyntheticDatasetOptions>().Images / 10), 5);
}

/// <summary>Test-only <c>blip.pretrain</c>: one step per epoch, a checkpoint every <c>checkpoint_every_steps</c>.</summary>
public sealed class SteppingPretrainRunner(IOptions<SteppingRunnerOptions> options) : SteppingRunner(options)
{
    public override string Kind => "blip.pretrain";

    protected override bool LooksUpCache => true;

    protected override (long Steps, long CheckpointEvery) Plan(StageRunContext context)
    {
        var pretrain = context.GetOptions<BlipPretrainOptions>();
        return (pretrain.Epochs, pretrain.CheckpointEverySteps);
    }
}
