using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Artifacts;
using Orchestrator.Grains.Events;

namespace Orchestrator.Grains.Stages;

/// <summary>
/// The reports a run sends: started, progress, checkpoint, completed, failed. Each is fenced by run id first: a report
/// from a superseded run is stale and one already applied is a duplicate, and neither changes anything but a counter.
/// </summary>
public sealed partial class StageGrain
{
    public async Task<ReportOutcome> ReportStartedAsync(RunStartedReport report)
    {
        if (Fence(report.RunId) is { } fenced)
        {
            return fenced;
        }

        var attempt = Stage.CurrentAttempt!;
        if (attempt.StartedAt is not null)
        {
            return Duplicate();
        }

        await LearnAssignmentAsync(attempt);
        attempt.StartedAt = time.GetUtcNow();
        if (!attempt.WorkerIds.Contains(report.WorkerId))
        {
            attempt.WorkerIds.Add(report.WorkerId);
        }

        using (RunScope(report.RunId))
        {
            logger.LogInformation("Run {RunId} (attempt {Attempt}) started on worker {WorkerId}", report.RunId, attempt.Attempt, report.WorkerId);
        }

        await TransitionAsync(StageStatus.Running);
        return ReportOutcome.Applied;
    }

    public async Task<ReportOutcome> ReportProgressAsync(RunProgressReport report)
    {
        if (Fence(report.RunId) is { } fenced)
        {
            return fenced;
        }

        var now = time.GetUtcNow();
        if (Stage.Progress is { } progress && report.Step <= progress.Step)
        {
            return Duplicate();
        }

        Stage.Progress ??= new StageProgress { FirstStep = report.Step, FirstStepAt = now };
        Stage.Progress.Step = report.Step;
        Stage.Progress.TotalSteps = report.TotalSteps ?? Stage.Progress.TotalSteps;
        Stage.Progress.Epoch = report.Epoch ?? Stage.Progress.Epoch;
        Stage.Progress.SamplesPerSecond = report.SamplesPerSecond ?? Stage.Progress.SamplesPerSecond;
        Stage.Progress.UpdatedAt = now;
        foreach (var (name, value) in report.Metrics)
        {
            Stage.Metrics[name] = value;
        }

        if (Stage.Status == StageStatus.Queued)
        {
            // Progress can overtake the started report; either one means the run is running.
            await LearnAssignmentAsync(Stage.CurrentAttempt!);
            Stage.CurrentAttempt!.StartedAt ??= now;
            await TransitionAsync(StageStatus.Running);
        }
        else
        {
            await _state.WriteAsync();
        }

        if (ExperimentEvent.ForProgress(Definition.ExperimentId, View()) is { } progressed)
        {
            await Experiment.OnStageProgressedAsync(progressed);
        }

        return ReportOutcome.Applied;
    }

    /// <summary>
    /// Reports are consumed concurrently, so a run's checkpoints can arrive out of order, even after the report that
    /// ended the run (a broker that was down delivers a backlog at once). The newest checkpoint wins whenever it comes,
    /// as long as it belongs to the stage's latest attempt.
    /// </summary>
    public async Task<ReportOutcome> ReportCheckpointAsync(RunCheckpointReport report)
    {
        if (Stage.Attempts is not [.., var attempt] || attempt.RunId != report.RunId)
        {
            return Fence(report.RunId) ?? throw new InvalidOperationException($"run {report.RunId} is current but not the latest attempt");
        }

        if (attempt.LastCheckpoint is { } known)
        {
            if (known.Uri == report.Checkpoint.Uri)
            {
                return Duplicate();
            }

            if ((known.Step ?? long.MinValue) >= (report.Checkpoint.Step ?? long.MinValue))
            {
                OrchestratorMetrics.ReportsIgnored.Add(1, new KeyValuePair<string, object?>("reason", "superseded"));
                return ReportOutcome.Superseded;
            }
        }

        Stage.LastCheckpoint = report.Checkpoint;
        attempt.LastCheckpoint = report.Checkpoint;
        await _state.WriteAsync();
        return ReportOutcome.Applied;
    }

    public async Task<ReportOutcome> ReportCompletedAsync(RunCompletedReport report)
    {
        if (Fence(report.RunId) is { } fenced)
        {
            if (fenced == ReportOutcome.Duplicate && report.Rank == 0)
            {
                await RepeatHandOffsAsync(report.RunId);
            }

            return fenced;
        }

        var attempt = Stage.CurrentAttempt!;
        if (report.Rank != 0)
        {
            using (RunScope(report.RunId))
            {
                logger.LogInformation("Rank {Rank} of run {RunId} finished", report.Rank, report.RunId);
            }

            return ReportOutcome.RankFinished;
        }

        EndAttempt(attempt, StageStatus.Succeeded);
        attempt.Metrics = new Dictionary<string, double>(report.Metrics);
        foreach (var (name, value) in report.Metrics)
        {
            Stage.Metrics[name] = value;
        }

        Stage.Outputs = new Dictionary<string, ArtifactRef>(report.Outputs);
        Stage.CurrentRunId = null;
        using (RunScope(report.RunId))
        {
            logger.LogInformation("Run {RunId} succeeded with outputs {Outputs}", report.RunId, string.Join(", ", report.Outputs.Keys));
        }

        await TransitionAsync(StageStatus.Succeeded);
        await Scheduler.ReleaseAsync(report.RunId);
        return ReportOutcome.Applied;
    }

    public async Task<ReportOutcome> ReportFailedAsync(RunFailedReport report)
    {
        if (Fence(report.RunId) is { } fenced)
        {
            if (fenced == ReportOutcome.Duplicate)
            {
                await RepeatHandOffsAsync(report.RunId);
            }

            return fenced;
        }

        var gang = Stage.CurrentAttempt!.WorkerIds.Count > 1;
        await FailCurrentRunAsync(report.Error, report.Retryable, report.LastCheckpoint);
        if (gang)
        {
            // One rank's failure ends the generation: the others are stopped and their slots freed, and the next
            // generation waits for workers that are heard again (a killed rank's worker may not yet be declared lost).
            await Scheduler.FailGangAsync(report.RunId, $"a rank of the gang failed: {report.Error}");
        }
        else
        {
            await Scheduler.ReleaseAsync(report.RunId);
        }

        return ReportOutcome.Applied;
    }

    /// <summary>
    /// A report that ended the run, delivered again: the first delivery may have written the state and stopped before
    /// its hand-offs (a silo that died, a storage write that timed out but was applied), so they are made again, each
    /// harmless when repeated: the scheduler frees the run's slots, the experiment hears of the stage's status (it
    /// ignores a version it knows), and a retry that waits gets its reminder.
    /// </summary>
    private async Task RepeatHandOffsAsync(string runId)
    {
        if (Stage.Attempts is not [.., var last] || last.RunId != runId || Stage.CurrentRunId is not null)
        {
            return;
        }

        if (last.Outcome == StageStatus.Failed && last.WorkerIds.Count > 1)
        {
            await Scheduler.CancelRunAsync(runId, $"a rank of the gang failed: {last.Error}");
        }
        else
        {
            await Scheduler.ReleaseAsync(runId);
        }

        if (Stage.Status == StageStatus.Queued && Stage.RetryAt is { } retryAt)
        {
            await EnsureRetryReminderAsync(retryAt);
        }

        await NotifyExperimentAsync();
    }

    private ReportOutcome? Fence(string runId)
    {
        if (Stage.CurrentRunId == runId)
        {
            return null;
        }

        // A finished run's repeated report is a duplicate; anything else from another run is stale.
        if (Stage.Attempts is [.., var last] && last.RunId == runId && last.Outcome is not null)
        {
            return Duplicate();
        }

        Stage.StaleReports++;
        OrchestratorMetrics.ReportsIgnored.Add(1, new KeyValuePair<string, object?>("reason", "stale"));
        return ReportOutcome.Stale;
    }

    private ReportOutcome Duplicate()
    {
        Stage.DuplicateReports++;
        OrchestratorMetrics.ReportsIgnored.Add(1, new KeyValuePair<string, object?>("reason", "duplicate"));
        return ReportOutcome.Duplicate;
    }
}
