namespace Orchestrator.Grains.Scheduling;

/// <summary>The scheduler's durable state: known workers, the queue, and the runs out on workers.</summary>
[GenerateSerializer, Alias("SchedulerState")]
public sealed class SchedulerState
{
    [Id(0)] public Dictionary<string, WorkerRecord> Workers { get; set; } = [];

    /// <summary>Waiting runs; assigned by priority, then by <see cref="QueuedRun.Sequence"/> (FIFO).</summary>
    [Id(1)] public List<QueuedRun> Queue { get; set; } = [];

    /// <summary>Runs out on workers, by run id.</summary>
    [Id(2)] public Dictionary<string, RunAssignment> Running { get; set; } = [];

    [Id(3)] public long NextSequence { get; set; }
}

/// <summary>A worker the scheduler knows, and when it last heard from it.</summary>
[GenerateSerializer, Alias("WorkerRecord")]
public sealed class WorkerRecord
{
    [Id(0)] public required string WorkerId { get; set; }
    [Id(1)] public required WorkerCapacity Capacity { get; set; }
    [Id(2)] public DateTimeOffset RegisteredAt { get; set; }
    [Id(3)] public DateTimeOffset LastHeartbeatAt { get; set; }

    /// <summary>Silent past the heartbeat timeout; gets no runs until it registers again.</summary>
    [Id(4)] public bool Lost { get; set; }
}

/// <summary>A run in the queue with its arrival order.</summary>
[GenerateSerializer, Immutable, Alias("QueuedRun")]
public sealed record QueuedRun(
    [property: Id(0)] long Sequence,
    [property: Id(1)] RunRequest Request);

/// <summary>A run taken from a worker that went silent; its stage retries it.</summary>
public sealed record LostRun(RunAssignment Assignment, string WorkerId);

/// <summary>A point-in-time view of the scheduler for the API and metrics.</summary>
[GenerateSerializer, Immutable, Alias("SchedulerSnapshot")]
public sealed record SchedulerSnapshot
{
    [Id(0)] public required List<WorkerView> Workers { get; init; }
    [Id(1)] public required int QueueDepth { get; init; }
    [Id(2)] public required int RunningRuns { get; init; }
}

/// <summary>A worker as the API shows it.</summary>
[GenerateSerializer, Immutable, Alias("WorkerView")]
public sealed record WorkerView
{
    [Id(0)] public required string WorkerId { get; init; }
    [Id(1)] public required WorkerCapacity Capacity { get; init; }
    [Id(2)] public required int FreeSlots { get; init; }
    [Id(3)] public required bool Lost { get; init; }
    [Id(4)] public required DateTimeOffset LastHeartbeatAt { get; init; }
    [Id(5)] public required List<string> RunIds { get; init; }
}
