namespace Orchestrator.Grains.Scheduling;

/// <summary>The cluster's one scheduler: knows every worker's capacity and assigns queued runs to them.</summary>
[Alias("ISchedulerGrain")]
public interface ISchedulerGrain : IGrainWithIntegerKey
{
    /// <summary>A worker announces itself, or beats: its capacity and the runs it is running.</summary>
    [Alias("Heartbeat")]
    Task HeartbeatAsync(string workerId, WorkerCapacity capacity, List<string> activeRunIds);

    /// <summary>A worker leaves cleanly; its runs (already reported) are forgotten.</summary>
    [Alias("Deregister")]
    Task DeregisterAsync(string workerId);

    /// <summary>Queues a run and assigns whatever fits now.</summary>
    [Alias("Enqueue")]
    Task EnqueueAsync(RunRequest run);

    /// <summary>A stage says its run is out on these workers; the scheduler counts it again if it had forgotten it.</summary>
    [Alias("Adopt")]
    Task AdoptAsync(RunAssignment assignment);

    /// <summary>
    /// An experiment the scheduler asked to catch up has announced all its runs again: the acknowledgement of
    /// <see cref="Experiments.IExperimentGrain.CatchUpAsync"/>, which the scheduler sends again until it comes.
    /// </summary>
    [OneWay, Alias("CaughtUp")]
    Task CaughtUpAsync(string experimentId);

    /// <summary>The stage of the run has taken in <see cref="Stages.IStageGrain.OnRunLostAsync"/>: it is not sent again.</summary>
    [OneWay, Alias("RunLossAcknowledged")]
    Task RunLossAcknowledgedAsync(string runId);

    /// <summary>Where the run is out, or null when it is not (queued, ended or unknown); for a stage that missed its assignment.</summary>
    [AlwaysInterleave, Alias("GetAssignment")]
    Task<RunAssignment?> GetAssignmentAsync(string runId);

    /// <summary>The run ended; its workers' slots are free again.</summary>
    [Alias("Release")]
    Task ReleaseAsync(string runId);

    /// <summary>Takes the run off the queue, or tells its workers to stop it.</summary>
    [Alias("CancelRun")]
    Task CancelRunAsync(string runId, string reason);

    /// <summary>
    /// A rank of the gang running <paramref name="runId"/> failed: tells the other ranks to stop, frees every rank's slots,
    /// and places nothing on the gang's workers until each is heard again (<see cref="SchedulerCore.Suspect"/>).
    /// </summary>
    [Alias("FailGang")]
    Task FailGangAsync(string runId, string reason);

    /// <summary>
    /// Declares silent workers lost and retries their runs, sends again the messages not yet acknowledged, and has every
    /// running experiment catch up when a silo has left the cluster; a timer calls it, tests may too.
    /// </summary>
    [Alias("CheckWorkers")]
    Task CheckWorkersAsync();

    /// <summary>Workers, queue depth and runs out.</summary>
    [ReadOnly, Alias("GetSnapshot")]
    Task<SchedulerSnapshot> GetSnapshotAsync();
}
