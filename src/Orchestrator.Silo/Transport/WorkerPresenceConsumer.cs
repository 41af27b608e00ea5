using MassTransit;
using Orchestrator.Contracts.Messages;
using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Silo.Transport;

/// <summary>Passes worker registrations, heartbeats and departures to the scheduler.</summary>
public sealed class WorkerPresenceConsumer(IGrainFactory grains, IHostApplicationLifetime lifetime, ILogger<WorkerPresenceConsumer> logger) :
    IConsumer<RegisterWorker>,
    IConsumer<RecordWorkerHeartbeat>,
    IConsumer<DeregisterWorker>
{
    private ISchedulerGrain Scheduler => grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key);

    public Task Consume(ConsumeContext<RegisterWorker> context) =>
        Scheduler.HeartbeatAsync(context.Message.WorkerId, context.Message.Capacity.ToGrain(), []);

    public Task Consume(ConsumeContext<RecordWorkerHeartbeat> context) =>
        Scheduler.HeartbeatAsync(context.Message.WorkerId, context.Message.Capacity.ToGrain(), [.. context.Message.ActiveRunIds]);

    /// <summary>
    /// A departure that arrives while this silo stops (an in-process worker leaves with it) may find the scheduler
    /// already gone; it is dropped then, not faulted: the scheduler's memory goes with the silo, and a scheduler
    /// activated elsewhere declares a worker that stays silent lost.
    /// </summary>
    public async Task Consume(ConsumeContext<DeregisterWorker> context)
    {
        try
        {
            await Scheduler.DeregisterAsync(context.Message.WorkerId);
        }
        catch (Exception exception) when (lifetime.ApplicationStopping.IsCancellationRequested && exception is not OperationCanceledException)
        {
            logger.LogInformation("Worker {WorkerId} left while this silo stops; its departure was dropped ({Error})", context.Message.WorkerId, exception.Message);
        }
    }
}

/// <summary>Heartbeats are frequent and idempotent: short retries only.</summary>
public sealed class WorkerPresenceConsumerDefinition : ConsumerDefinition<WorkerPresenceConsumer>
{
    public WorkerPresenceConsumerDefinition()
    {
        EndpointName = QueueNames.OrchestratorWorkers;
        ConcurrentMessageLimit = 16;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<WorkerPresenceConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry => retry.Intervals(100, 500, 1000));
    }
}
