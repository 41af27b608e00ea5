namespace Orchestrator.Grains.Scheduling;

/// <summary>
/// Whether workers' heartbeats can reach the orchestrator, as its transport sees it. A broker outage silences every
/// worker at once; the scheduler declares nobody lost while it lasts, and afterwards gives each worker
/// <see cref="SchedulerOptions.ReconnectGrace"/> to be heard again (docs/decisions.md, "A broker outage is not a lost
/// worker").
/// </summary>
public interface ITransportHealth
{
    TransportStatus Check();
}

/// <summary>
/// Whether heartbeats can arrive, and the transport's own account of why (for the log). <paramref name="Settling"/>:
/// the transport is not receiving because the silo is starting or stopping, which protects workers as an outage does
/// but is no outage to report.
/// </summary>
public sealed record TransportStatus(bool Receiving, string Description, bool Settling = false);
