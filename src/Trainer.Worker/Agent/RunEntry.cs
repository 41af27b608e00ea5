using Orchestrator.Contracts.Messages;
using Trainer.Worker.Runners;

namespace Trainer.Worker.Agent;

/// <summary>Why a run was asked to stop, and how its failure is reported.</summary>
internal sealed record RunStop(string Error, bool Retryable)
{
    public static readonly RunStop Drain = new("worker shutting down", Retryable: true);

    public static RunStop Cancel(string reason) => new($"cancelled: {reason}", Retryable: false);

    /// <summary>The watchdog's: the run made no progress for <paramref name="timeout"/>.</summary>
    public static RunStop Stalled(TimeSpan timeout) => new(
        $"no progress for {timeout} (no training step, evaluation batch, decoded shard or checkpoint); retried from the last checkpoint. " +
        $"If this run's units of work take longer, raise {WorkerOptions.Section}:{nameof(WorkerOptions.ProgressTimeout)}", Retryable: true);
}

/// <summary>One run in the worker's run table, from acceptance until (and after) its final report.</summary>
/// <remarks>
/// Its token sources are never disposed: a cancel may race the run's end, and a source without a timer holds
/// nothing that the collector does not reclaim. The abort timer is disposed when the run ends.
/// </remarks>
internal sealed class RunEntry(StartStageRun run, long sequence)
{
    private int _reported;

    public StartStageRun Run { get; } = run;

    /// <summary>Acceptance order: the order heartbeats list runs in.</summary>
    public long Sequence { get; } = sequence;

    /// <summary>Completed when the run gets a slot; cancelled when it is stopped while still waiting for one.</summary>
    public TaskCompletionSource SlotGranted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Cancelled on cancel or drain: the runner's token.</summary>
    public CancellationTokenSource Cancellation { get; } = new();

    /// <summary>
    /// Cancelled a drain timeout after <see cref="Cancellation"/>: ends what a stopping run still does (saving a
    /// checkpoint, publishing reports), so a runner that ignores cancellation cannot hold the worker forever.
    /// </summary>
    public CancellationTokenSource Abort { get; } = new();

    /// <summary>Set once, under the agent's lock; the first reason wins.</summary>
    public RunStop? Stop { get; set; }

    /// <summary>The background task that runs and reports the run.</summary>
    public Task Execution { get; set; } = Task.CompletedTask;

    /// <summary>Set once the runner has its context: where the last checkpoint is known.</summary>
    public StageRunContext? Context { get; set; }

    /// <summary>True once the final report is out; the run then no longer counts as active.</summary>
    public bool IsFinished { get; set; }

    /// <summary>Cancels <see cref="Abort"/>; armed when the run is asked to stop.</summary>
    public ITimer? AbortTimer { get; set; }

    /// <summary>Fails the run when it makes no progress; armed when the run gets its slot (<see cref="RunWatchdog"/>).</summary>
    public ITimer? Watchdog { get; set; }

    /// <summary>When the run got its slot; a <see cref="TimeProvider"/> timestamp.</summary>
    public long GrantedAt { get; set; }

    /// <summary>When the run last showed progress (its context knows), else when it got its slot.</summary>
    public long LastAliveAt => Context is { } context ? context.LastAliveAt : GrantedAt;

    /// <summary>The context's view once the runner has one (it knows what the run saved or actually resumed from), else the given checkpoint.</summary>
    public ArtifactReference? LastCheckpoint => Context is { } context ? context.LastCheckpoint : Run.ResumeFrom;

    /// <summary>True for the one caller that gets to send the run's final report.</summary>
    public bool TryClaimFinalReport() => Interlocked.Exchange(ref _reported, 1) == 0;
}
