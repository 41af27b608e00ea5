using MassTransit;
using Orchestrator.Contracts.Messages;
using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Silo.Transport;

/// <summary>
/// The health of the receive endpoint heartbeats arrive on (<see cref="QueueNames.OrchestratorWorkers"/>),
/// as MassTransit reports it, for the scheduler's <see cref="ITransportHealth"/>. When the broker goes away that
/// endpoint stops or faults, while the bus as a whole may still call itself degraded rather than unhealthy; so only a
/// healthy presence endpoint counts as receiving, and a bus without one does not. Before the endpoint is first healthy
/// (the bus starts after the silo) and once the silo is stopping (the bus stops first), not receiving is
/// <see cref="TransportStatus.Settling"/>, not an outage.
/// </summary>
public sealed class BusTransportHealth(IBusControl bus, IHostApplicationLifetime lifetime) : ITransportHealth
{
    private volatile bool _receivedOnce;

    public TransportStatus Check()
    {
        var health = bus.CheckHealth();
        var endpoint = health.Endpoints.Values
            .Where(endpoint => endpoint.InputAddress.AbsolutePath.Split('/')[^1] == QueueNames.OrchestratorWorkers)
            .Select(endpoint => (EndpointHealthResult?)endpoint)
            .FirstOrDefault();
        var receiving = endpoint?.Status == BusHealthStatus.Healthy;
        _receivedOnce |= receiving;
        var description = endpoint is { } found
            ? $"heartbeat endpoint {found.Status}: {found.Description}; bus {health.Status}: {health.Description}"
            : $"no heartbeat endpoint; bus {health.Status}: {health.Description}";
        return new TransportStatus(receiving, description, Settling: !_receivedOnce || lifetime.ApplicationStopping.IsCancellationRequested);
    }
}
