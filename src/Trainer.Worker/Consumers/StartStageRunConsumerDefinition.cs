using MassTransit;
using Microsoft.Extensions.Options;
using Orchestrator.Contracts.Messages;

namespace Trainer.Worker.Consumers;

/// <summary>Puts <see cref="StartStageRunConsumer"/> on the worker's own queue, with a short retry for transient errors.</summary>
public sealed class StartStageRunConsumerDefinition : ConsumerDefinition<StartStageRunConsumer>
{
    public StartStageRunConsumerDefinition(IOptions<WorkerOptions> options)
    {
        Endpoint(endpoint => WorkerQueueEndpoint.Configure(endpoint, options.Value));
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<StartStageRunConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // A run is for the worker it was sent to: a published StartStageRun must not reach every worker's queue.
        endpointConfigurator.ConfigureMessageTopology<StartStageRun>(false);

        // Accepting only records the run in memory; a failure is a passing fault, never a reason to hold the message.
        consumerConfigurator.UseMessageRetry(retry => retry.Intervals(100, 500, 1000));
    }
}
