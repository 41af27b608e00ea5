using MassTransit;
using Orchestrator.Contracts.Messages;

namespace Trainer.Worker.Consumers;

/// <summary>The endpoint both worker consumers share: the worker's own queue, one message at a time.</summary>
internal static class WorkerQueueEndpoint
{
    public static void Configure(IEndpointRegistrationConfigurator endpoint, WorkerOptions options)
    {
        // The id the worker registers with names its queue, so the scheduler's sends always reach it.
        endpoint.Name = QueueNames.Worker(options.WorkerId);

        // In order, so a CancelStageRun sent after a StartStageRun finds the run recorded. Each message only
        // records or flags a run in memory, so one at a time costs nothing.
        endpoint.ConcurrentMessageLimit = 1;
    }
}
