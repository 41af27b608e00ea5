using MassTransit;
using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Silo.Transport;

/// <summary>
/// The health of the receive endpoint heartbeats arrive on (<see cref="WorkerPresenceConsumerDefinition.QueueName"/>),
/// as MassTransit reports it, for the scheduler's <see cref="ITransportHealth"/>. When the broker goes away that
/// endpoint stops or faults, while the bus as a whole may still call itself degraded rather than unhealthy; so only a
/// healthy presence endpoint counts as receiving, and a bus without one (not started yet) does not.
/// </summary>
public sealed class BusTransportHealth(IBusControl bus) : ITransportHealth
{
    public TransportStatus Check()
    {
        var health = bus.CheckHealth();
        foreach (var endpoint in health.Endpoints.Values)
        {
            if (endpoint.InputAddress.AbsolutePath.Split('/')[^1] == WorkerPresenceConsumerDefinition.QueueName)
            {
                return new TransportStatus(
                    endpoint.Status == BusHealthStatus.Healthy,
                    $"heartbeat endpoint {endpoint.Status}: {endpoint.Description}; bus {health.Status}: {health.Description}");
            }
        }

        return new TransportStatus(false, $"no heartbeat endpoint; bus {health.Status}: {health.Description}");
    }
}
