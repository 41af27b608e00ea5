using Orchestrator.Grains.Artifacts;

namespace Orchestrator.Grains.Stages;

/// <summary>One stage of one experiment, keyed <c>{experimentId}/{stageId}</c>: owns its lifecycle, runs and reports.</summary>
[Alias("IStageGrain")]
public interface IStageGrain : IGrainWithStringKey, IRemindable
{
    /// <summary>
    /// Stores the stage's definition; the stage starts Pending. Repeating it changes nothing. Returns the stage as it
    /// now is. A new stage that waits on upstream stages then leaves memory: nothing reaches it until they end.
    /// </summary>
    [Alias("Initialize")]
    Task<StageView> InitializeAsync(StageDefinition definition);

    /// <summary>
    /// Its inputs are available (the last since <paramref name="readyAt"/>): creates a run with these
    /// artifacts and hands it to the scheduler. Only a Pending stage is queued, so repeating it is harmless.
    /// Returns the stage as it now is, as do the other calls the experiment makes.
    /// </summary>
    [Alias("Queue")]
    Task<StageChange> QueueAsync(Dictionary<string, List<ArtifactRef>> inputs, DateTimeOffset readyAt);

    /// <summary>Announces the current run to the scheduler again: queued, or out on its workers. Harmless when it knows it.</summary>
    [Alias("EnsureScheduled")]
    Task EnsureScheduledAsync();

    /// <summary>The stage with its attempts, outputs, progress and metrics; answered at once, even while the stage waits on a write.</summary>
    [AlwaysInterleave, Alias("Get")]
    Task<StageView> GetAsync();

    /// <summary>The stage's status, version and outputs: what its experiment needs to catch up after a restart.</summary>
    [AlwaysInterleave, Alias("GetChange")]
    Task<StageChange> GetChangeAsync();

    /// <summary>A worker started the current run.</summary>
    [Alias("ReportStarted")]
    Task<ReportOutcome> ReportStartedAsync(RunStartedReport report);

    /// <summary>The current run advanced.</summary>
    [Alias("ReportProgress")]
    Task<ReportOutcome> ReportProgressAsync(RunProgressReport report);

    /// <summary>The current run saved a checkpoint; retries resume from it.</summary>
    [Alias("ReportCheckpoint")]
    Task<ReportOutcome> ReportCheckpointAsync(RunCheckpointReport report);

    /// <summary>The current run finished with its outputs.</summary>
    [Alias("ReportCompleted")]
    Task<ReportOutcome> ReportCompletedAsync(RunCompletedReport report);

    /// <summary>The current run failed; retried after a backoff when retryable and attempts remain.</summary>
    [Alias("ReportFailed")]
    Task<ReportOutcome> ReportFailedAsync(RunFailedReport report);

    /// <summary>A rank of the current run's gang publishes a rendezvous value; stale for any other run.</summary>
    [Alias("RendezvousSet")]
    Task<RendezvousResult> RendezvousSetAsync(string runId, string key, byte[] value);

    /// <summary>A rank of the current run's gang reads a rendezvous value, missing until some rank set it; stale for any other run.</summary>
    [Alias("RendezvousGet")]
    Task<RendezvousResult> RendezvousGetAsync(string runId, string key);

    /// <summary>
    /// The scheduler placed the run on these workers (rank order). Not acknowledged: a stage that missed it asks the
    /// scheduler when the run's first report arrives, and the scheduler tells it again when the stage announces the run as queued.
    /// </summary>
    [OneWay, Alias("OnRunAssigned")]
    Task OnRunAssignedAsync(string runId, List<string> workerIds, DateTimeOffset assignedAt);

    /// <summary>
    /// The scheduler lost a worker of the run; the run fails as retryable. The stage acknowledges it
    /// (<see cref="Scheduling.ISchedulerGrain.RunLossAcknowledgedAsync"/>), and until it has, the scheduler sends it again.
    /// </summary>
    [OneWay, Alias("OnRunLost")]
    Task OnRunLostAsync(string runId, string reason);

    /// <summary>
    /// The experiment has taken in the stage's change of this version (or a later one): the stage stops sending it again.
    /// </summary>
    [OneWay, Alias("AcknowledgeChange")]
    Task AcknowledgeChangeAsync(long version);

    /// <summary>Stops the stage: an active run is cancelled on its workers, a Pending stage is Skipped.</summary>
    [Alias("Cancel")]
    Task<StageChange> CancelAsync();

    /// <summary>A Failed, Cancelled or Skipped stage returns to Pending, keeping its last checkpoint to resume from.</summary>
    [Alias("Resume")]
    Task<StageChange> ResumeAsync();

    /// <summary>Returns the stage to Pending with no outputs and no checkpoint, cancelling a run in flight.</summary>
    [Alias("Rerun")]
    Task<StageChange> RerunAsync();
}
