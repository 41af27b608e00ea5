using MassTransit;
using Microsoft.Extensions.Options;

namespace Trainer.Worker.Consumers;

/// <summary>Puts <see cref="CancelStageRunConsumer"/> on the worker's own queue, with a short retry for transient errors.</summary>
public sealed class CancelStageRunConsumerDefinition : ConsumerDefinition<CancelStageRunConsumer>
{
    public CancelStageRunConsumerDefinition(IOptions<WorkerOptions> options)
    {
        Endpoint(endpoint => WorkerQueueEndpoint.Configure(endpoint, options.Value));
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<CancelStageRunConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // Flagging a run is in memory; a failure is a passing fault. Cancels may be sent to this queue or
        // published to every worker: a worker without the run ignores it.
        consumerConfigurator.UseMessageRetry(retry => retry.Intervals(100, 500, 1000));
    }
}
