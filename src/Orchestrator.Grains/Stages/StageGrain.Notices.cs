using Microsoft.Extensions.Logging;

namespace Orchestrator.Grains.Stages;

/// <summary>
/// What the stage makes sure others learn, although it tells them one way (grains never wait on each other in a cycle):
/// its experiment acknowledges each status change it is told of, and until it has, the stage sends its latest change
/// again after <see cref="Redelivery.FirstWait"/>, then less often. The timer that does so exists only while a change is
/// unacknowledged, so a stage whose experiment is up to date holds none. A change lost with the stage's own silo is
/// recovered by the scheduler, which has every running experiment catch up when a silo leaves the cluster
/// (docs/decisions/reminders-when-due.md).
/// </summary>
public sealed partial class StageGrain
{
    /// <summary>The version last sent to the experiment and not yet acknowledged; 0 when it has acknowledged them all.</summary>
    private long _unacknowledged;

    private IGrainTimer? _resend;
    private TimeSpan _resendWait;

    public Task AcknowledgeChangeAsync(long version)
    {
        if (_unacknowledged != 0 && version >= _unacknowledged)
        {
            _unacknowledged = 0;
            _resend?.Dispose();
            _resend = null;
        }

        return Task.CompletedTask;
    }

    /// <summary>Tells the experiment the stage's status and waits, without blocking, for its acknowledgement.</summary>
    private async Task NotifyExperimentAsync()
    {
        var change = Change();
        _unacknowledged = change.Version;
        _resendWait = Redelivery.FirstWait;
        if (_resend is null)
        {
            // Kept alive while it waits, so that the stage is not collected with a change its experiment has not taken in.
            _resend = this.RegisterGrainTimer(ResendChangeAsync, new GrainTimerCreationOptions(_resendWait, Timeout.InfiniteTimeSpan) { KeepAlive = true });
        }
        else
        {
            _resend.Change(_resendWait, Timeout.InfiniteTimeSpan);
        }

        await Experiment.OnStageChangedAsync(change);
    }

    private async Task ResendChangeAsync(CancellationToken cancellationToken)
    {
        if (_unacknowledged == 0 || _resend is null)
        {
            return;
        }

        var change = Change();
        logger.LogInformation("Stage {Stage} sends its status {Status} (version {Version}) again: experiment {ExperimentId} has not acknowledged it in {Wait}",
            this.GetPrimaryKeyString(), change.Status, change.Version, Definition.ExperimentId, _resendWait);
        OrchestratorMetrics.RecordResent(OrchestratorMetrics.ResentMessage.StageChanged);
        _unacknowledged = change.Version;
        _resendWait = Redelivery.After(_resendWait);
        _resend.Change(_resendWait, Timeout.InfiniteTimeSpan);
        await Experiment.OnStageChangedAsync(change);
    }

    /// <summary>Records the workers the scheduler placed the run on.</summary>
    private void Assigned(StageAttempt attempt, List<string> workerIds, DateTimeOffset assignedAt)
    {
        if (attempt.AssignedAt is null && workerIds.Count > 1)
        {
            OrchestratorMetrics.RecordGangGeneration(Definition.Kind, attempt.Attempt);
        }

        attempt.AssignedAt = assignedAt;
        attempt.WorkerIds = [.. workerIds];
    }

    /// <summary>
    /// A report of the run arrived, so the run was placed, but the scheduler's word of it (one-way) has not: it was lost,
    /// or the report overtook it. The stage asks the scheduler, so that it knows every worker of the run and announces it
    /// as out on them, not as queued, should the scheduler lose its memory (which would place it twice).
    /// </summary>
    private async Task LearnAssignmentAsync(StageAttempt attempt)
    {
        if (attempt.AssignedAt is null && await Scheduler.GetAssignmentAsync(attempt.RunId) is { } assignment)
        {
            Assigned(attempt, assignment.WorkerIds, assignment.AssignedAt);
        }
    }
}
