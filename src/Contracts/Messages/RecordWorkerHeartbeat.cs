namespace Orchestrator.Contracts.Messages;

/// <summary>A worker's periodic sign of life, with the runs it is running.</summary>
public sealed record RecordWorkerHeartbeat
{
    public required string WorkerId { get; init; }
    public required WorkerCapacityInfo Capacity { get; init; }
    public required IReadOnlyList<string> ActiveRunIds { get; init; }
    public required DateTimeOffset SentAt { get; init; }
}
