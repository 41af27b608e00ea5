namespace Orchestrator.Contracts.Messages;

/// <summary>
/// The broker's queue names both planes address: part of the wire, like the messages, so they live here once. A
/// silo sends a run to <see cref="Worker"/>; every silo consumes from <see cref="OrchestratorReports"/> (the workers'
/// reports) and <see cref="OrchestratorWorkers"/> (registrations, heartbeats, departures), which they share.
/// </summary>
public static class QueueNames
{
    /// <summary>The queue the silos' report consumers share.</summary>
    public const string OrchestratorReports = "orchestrator-reports";

    /// <summary>The queue worker registrations, heartbeats and departures arrive on, shared by the silos.</summary>
    public const string OrchestratorWorkers = "orchestrator-workers";

    /// <summary>The queue the silos answer gangs' rendezvous requests on (<see cref="RendezvousSet"/>, <see cref="RendezvousGet"/>).</summary>
    public const string OrchestratorRendezvous = "orchestrator-rendezvous";

    /// <summary>The queue a worker receives its assignments on: <c>worker-{workerId}</c>.</summary>
    public static string Worker(string workerId) => $"worker-{workerId}";
}
