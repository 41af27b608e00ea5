using MassTransit;
using Orchestrator.Contracts.Messages;

namespace Orchestrator.Bench;

/// <summary>
/// The benchmark's worker side of the broker: accepts every run it receives on the simulated worker's queue, as a
/// real worker agent does (the message is acknowledged on accept), and leaves the reports to
/// <see cref="InstantExecutor"/>, which publishes them back through the broker.
/// </summary>
internal sealed class InstantRunConsumer(InstantExecutor executor, BrokerPathRecorder paths) : IConsumer<StartStageRun>
{
    public Task Consume(ConsumeContext<StartStageRun> context)
    {
        var run = context.Message;
        paths.HandlerEntered(run);
        executor.Accept(new InstantRun(run.ExperimentId, run.StageId, run.RunId, run.Kind, BenchCommand.RabbitWorkerId, run.Rank));
        return Task.CompletedTask;
    }
}

/// <summary>Listens on the simulated worker's own queue.</summary>
internal sealed class InstantRunConsumerDefinition : ConsumerDefinition<InstantRunConsumer>
{
    public InstantRunConsumerDefinition(BenchSettings settings)
    {
        EndpointName = QueueNames.Worker(BenchCommand.RabbitWorkerId);
        ConcurrentMessageLimit = settings.Workers;
    }
}
