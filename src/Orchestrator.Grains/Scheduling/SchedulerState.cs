namespace Orchestrator.Grains.Scheduling;

/// <summary>
/// The scheduler's state: known workers, the queue, and the runs out on workers. It is soft state, kept in
/// memory only: workers re-register with their heartbeats, and stage grains (the durable truth) announce
/// their queued and running runs again when their experiments reconcile.
/// </summary>
public sealed class SchedulerState
{
    public Dictionary<string, WorkerRecord> Workers { get; } = [];

    /// <summary>Waiting runs by what they need, each shape in assignment order (<see cref="QueuedRun.AssignmentOrder"/>).</summary>
    public RunQueue Queue { get; } = new();

    /// <summary>Slots taken on each worker by the runs out on it.</summary>
    public Dictionary<string, int> UsedSlots { get; } = [];

    /// <summary>Runs out on workers, by run id.</summary>
    public Dictionary<string, RunAssignment> Running { get; } = [];

    /// <summary>
    /// When a worker's heartbeat first left out a run placed on it (by run and worker); cleared when the worker
    /// lists the run again or the run is released. The grace before such a run is lost counts from here.
    /// </summary>
    public Dictionary<(string RunId, string WorkerId), DateTimeOffset> MissingSince { get; } = [];

    /// <summary>
    /// Runs taken back from workers declared lost, by run and worker, for <see cref="SchedulerCore.TakenBackLifetime"/>:
    /// a lost worker that comes back still running one of them is told to cancel it, since its stage has moved on.
    /// </summary>
    public Dictionary<(string RunId, string WorkerId), TakenBackRun> TakenBack { get; } = [];

    /// <summary>
    /// Whether anything that could let a queued run be placed happened since the last pass (a run queued, slots freed,
    /// a worker heard with new capacity): a pass with nothing changed would place nothing, so none runs.
    /// </summary>
    public bool Changed { get; set; }

    /// <summary>The workers held for a run that waited past the reservation time, and that run; no other run may take them.</summary>
    public Reservation? Reservation { get; set; }

    /// <summary>Shapes whose fit a pass checked, in all: the work passes do, counted instead of timed.</summary>
    public long ShapesExamined { get; set; }

    /// <summary>Since when heartbeats cannot arrive (the transport is down); null while they can.</summary>
    public DateTimeOffset? DeafSince { get; set; }

    /// <summary>When heartbeats could arrive again after the last outage: nobody is declared lost for a grace after it.</summary>
    public DateTimeOffset HearingSince { get; set; }

    /// <summary>
    /// While the scheduler gets its runs back from the stages after an activation (<see cref="SchedulerCore.BeginRecovery"/>):
    /// each worker heard since, with the runs its last heartbeat listed that no stage has announced yet. Only these workers
    /// take runs during recovery, and only while their set is empty; null when not recovering.
    /// </summary>
    public Dictionary<string, HashSet<string>>? Unclaimed { get; set; }
}

/// <summary>A run taken back from a lost worker, and when.</summary>
public sealed record TakenBackRun(RunAssignment Assignment, DateTimeOffset At);

/// <summary>A worker the scheduler knows, and when it last heard from it.</summary>
public sealed class WorkerRecord
{
    public required string WorkerId { get; set; }
    public required WorkerCapacity Capacity { get; set; }
    public DateTimeOffset RegisteredAt { get; set; }
    public DateTimeOffset LastHeartbeatAt { get; set; }

    /// <summary>Silent past the heartbeat timeout; gets no runs until it registers again.</summary>
    public bool Lost { get; set; }

    /// <summary>
    /// Since when the worker is in doubt (a gang it was in failed): it gets no runs until a heartbeat after this time
    /// shows it alive, so the gang's next generation is not placed on a worker whose process died.
    /// </summary>
    public DateTimeOffset? SuspectSince { get; set; }
}

/// <summary>A run in the queue with its arrival order and its fair tag (<see cref="RunQueue.Add"/>).</summary>
public sealed record QueuedRun(long Sequence, long Tag, RunRequest Request)
{
    /// <summary>Higher priority first, then round-robin across experiments (the fair tag), then first come first served.</summary>
    public static readonly IComparer<QueuedRun> AssignmentOrder = Comparer<QueuedRun>.Create((a, b) =>
        a.Request.Priority != b.Request.Priority ? b.Request.Priority.CompareTo(a.Request.Priority)
        : a.Tag != b.Tag ? a.Tag.CompareTo(b.Tag)
        : a.Sequence.CompareTo(b.Sequence));
}

/// <summary>Workers held for a run that waited too long to be placed, so that smaller runs stop taking their slots.</summary>
public sealed record Reservation(string RunId, IReadOnlyList<string> WorkerIds);

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
