using MassTransit;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Messages;

namespace Orchestrator.Silo.Bench;

/// <summary>
/// The benchmark's worker side of the broker: answers every run it receives on the simulated worker's queue
/// with a started and a completed report, published back through the broker like a real worker's.
/// </summary>
internal sealed class InstantRunConsumer : IConsumer<StartStageRun>
{
    public async Task Consume(ConsumeContext<StartStageRun> context)
    {
        var run = context.Message;
        await context.Publish(new StageRunStarted { RunId = run.RunId, ExperimentId = run.ExperimentId, StageId = run.StageId, WorkerId = BenchCommand.RabbitWorkerId, Rank = run.Rank });
        await context.Publish(new StageRunCompleted
        {
            RunId = run.RunId,
            ExperimentId = run.ExperimentId,
            StageId = run.StageId,
            Outputs = StageKindCatalog.Find(run.Kind)!.Outputs.ToDictionary(
                output => output.Name,
                output => new ArtifactReference { Uri = $"bench://{run.RunId}/{output.Name}", Type = output.Type.Name }),
        });
    }
}

/// <summary>
/// Listens on the simulated worker's own queue, one run at a time per simulated worker (a real worker takes one
/// run from its queue at a time), so the broker bench simulates as many workers as the in-memory one.
/// </summary>
internal sealed class InstantRunConsumerDefinition : ConsumerDefinition<InstantRunConsumer>
{
    public InstantRunConsumerDefinition(BenchSettings settings)
    {
        EndpointName = Trainer.Worker.Transport.TransportOptions.WorkerQueue(BenchCommand.RabbitWorkerId);
        ConcurrentMessageLimit = settings.Workers;
    }
}
