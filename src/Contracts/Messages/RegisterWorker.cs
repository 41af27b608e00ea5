namespace Orchestrator.Contracts.Messages;

/// <summary>A worker starting up: the scheduler may assign it runs on its own queue.</summary>
public sealed record RegisterWorker
{
    public required string WorkerId { get; init; }
    public required WorkerCapacityInfo Capacity { get; init; }
    public required DateTimeOffset SentAt { get; init; }
}
