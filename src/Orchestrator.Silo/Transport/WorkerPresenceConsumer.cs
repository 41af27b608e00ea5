using MassTransit;
using Orchestrator.Contracts.Messages;
using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Silo.Transport;

/// <summary>Passes worker registrations, heartbeats and departures to the scheduler.</summary>
public sealed class WorkerPresenceConsumer(IGrainFactory grains) :
    IConsumer<RegisterWorker>,
    IConsumer<RecordWorkerHeartbeat>,
    IConsumer<DeregisterWorker>
{
    private ISchedulerGrain Scheduler => grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key);

    public Task Consume(ConsumeContext<RegisterWorker> context) =>
        Scheduler.HeartbeatAsync(context.Message.WorkerId, context.Message.Capacity.ToGrain(), []);

    public Task Consume(ConsumeContext<RecordWorkerHeartbeat> context) =>
        Scheduler.HeartbeatAsync(context.Message.WorkerId, context.Message.Capacity.ToGrain(), [.. context.Message.ActiveRunIds]);

    public Task Consume(ConsumeContext<DeregisterWorker> context) => Scheduler.DeregisterAsync(context.Message.WorkerId);
}

/// <summary>Heartbeats are frequent and idempotent: short retries only.</summary>
public sealed class WorkerPresenceConsumerDefinition : ConsumerDefinition<WorkerPresenceConsumer>
{
    public WorkerPresenceConsumerDefinition()
    {
        EndpointName = "orchestrator-workers";
        ConcurrentMessageLimit = 16;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<WorkerPresenceConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry => retry.Intervals(100, 500, 1000));
    }
}
