using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Grains.Tests.Lifecycle;

/// <summary>A transport whose outages a test switches on and off; receiving unless told otherwise.</summary>
public sealed class SwitchableTransportHealth : ITransportHealth
{
    private volatile TransportStatus _status = new(true, "test transport up");

    public void Down() => _status = new TransportStatus(false, "test broker unreachable");

    public void Up() => _status = new TransportStatus(true, "test transport up");

    public TransportStatus Check() => _status;
}
