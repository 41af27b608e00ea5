using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Telemetry;
using Orchestrator.Grains.Artifacts;
using Orchestrator.Grains.Events;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Scheduling;
using Orleans.Serialization;

namespace Orchestrator.Grains.Stages;

/// <summary>
/// Drives one stage through Pending, Queued, Running and its end. Every method saves state, tells the
/// scheduler or the experiment, and returns: nothing here waits for training. Reports are fenced by run
/// id, so a report from a superseded run, or one delivered twice, changes nothing. Every status change and
/// progress report goes to the experiment, which publishes it as a live event, and every log line about a run is
/// written under the run's ids. A status change is sent again until the experiment acknowledges it
/// (StageGrain.Notices.cs). The reports' handlers are in StageGrain.Reports.cs.
/// </summary>
public sealed partial class StageGrain(
    [PersistentState("stage", OrchestratorStorage.Name)] IPersistentState<StageState> state,
    [FromKeyedServices(OrchestratorClock.Key)] TimeProvider time,
    DeepCopier<StageState> copier,
    ILogger<StageGrain> logger) : Grain, IStageGrain
{
    public const string RetryReminder = "retry";

    /// <summary>Writes put the state back as written when they fail, so a retried report finds the stage as storage has it.</summary>
    private readonly WrittenState<StageState> _state = new(state, copier);

    private StageState Stage => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _state.Loaded();
        return Task.CompletedTask;
    }

    private StageDefinition Definition =>
        Stage.Definition ?? throw new InvalidOperationException($"Stage {this.GetPrimaryKeyString()} was never initialized.");

    public async Task<StageView> InitializeAsync(StageDefinition definition)
    {
        if (Stage.Definition is not null)
        {
            return View();
        }

        Stage.Definition = definition;
        Stage.Status = StageStatus.Pending;
        Stage.ChangedAt = time.GetUtcNow();

        // The submission's trace (the API request, through Orleans' activity propagation): each run's own trace links to it.
        Stage.SubmissionTrace = Activity.Current is { IdFormat: ActivityIdFormat.W3C } submission ? submission.Id : null;
        await _state.WriteAsync();
        if (definition.Upstream.Count > 0)
        {
            // Not ready before its upstream stages end, which may be hours away: held in memory until the idle collection
            // age, thousands of stages created in a burst would outweigh the rest of the backlog (docs/decisions/idle-collection.md).
            DeactivateOnIdle();
        }

        return View();
    }

    public async Task<StageChange> QueueAsync(Dictionary<string, List<ArtifactRef>> inputs, DateTimeOffset readyAt)
    {
        if (Stage.Status == StageStatus.Pending)
        {
            Stage.Inputs = inputs;
            Stage.AttemptsInBudget = 0;
            await StartAttemptAsync(readyAt, Notice.ByAnswer);
        }
        else if (Stage.Status.IsActive())
        {
            // Asked again: the first call may have written the stage and failed before its run reached the scheduler.
            await EnsureScheduledAsync();
        }

        return Change();
    }

    public async Task EnsureScheduledAsync()
    {
        if (Stage.Status == StageStatus.Queued && Stage.CurrentRunId is null && Stage.RetryAt is { } retryAt)
        {
            // Waiting out a backoff: its reminder is what starts the next attempt.
            await EnsureRetryReminderAsync(retryAt);
            return;
        }

        if (Stage.CurrentAttempt is not { } attempt || !Stage.Status.IsActive())
        {
            return;
        }

        var request = Request(attempt, attempt.QueuedAt);
        if (attempt.AssignedAt is { } assignedAt && attempt.WorkerIds.Count > 0)
        {
            await Scheduler.AdoptAsync(new RunAssignment { Run = request, WorkerIds = attempt.WorkerIds, AssignedAt = assignedAt });
        }
        else
        {
            await Scheduler.EnqueueAsync(request);
        }
    }

    /// <summary>Interleaves with any call: answers from what the grain holds, as written while a write is under way.</summary>
    public Task<StageView> GetAsync() => Task.FromResult(View(_state.Visible));

    public Task<StageChange> GetChangeAsync() => Task.FromResult(Change(_state.Visible));

    public async Task OnRunAssignedAsync(string runId, List<string> workerIds, DateTimeOffset assignedAt)
    {
        if (Stage.CurrentRunId != runId)
        {
            return;
        }

        Assigned(Stage.CurrentAttempt!, workerIds, assignedAt);
        await _state.WriteAsync();
    }

    public async Task OnRunLostAsync(string runId, string reason)
    {
        if (Fence(runId) is null)
        {
            await FailCurrentRunAsync(reason, retryable: true, lastCheckpoint: null);
        }
        else if (Stage.Status == StageStatus.Queued && Stage.CurrentRunId is null && Stage.RetryAt is { } retryAt)
        {
            // Told again: the first telling may have failed between the stage's write and its retry's reminder.
            await EnsureRetryReminderAsync(retryAt);
        }

        // Taken in (or about a run the stage has left behind): the scheduler stops sending it again.
        await Scheduler.RunLossAcknowledgedAsync(runId);
    }

    public async Task<StageChange> CancelAsync()
    {
        switch (Stage.Status)
        {
            case StageStatus.Pending:
                await TransitionAsync(StageStatus.Skipped, Notice.ByAnswer);
                break;
            case StageStatus.Queued or StageStatus.Running:
                await StopCurrentRunAsync("cancelled by the user");
                await TransitionAsync(StageStatus.Cancelled, Notice.ByAnswer);
                break;
        }

        return Change();
    }

    public async Task<StageChange> ResumeAsync()
    {
        if (Stage.Status is StageStatus.Failed or StageStatus.Cancelled or StageStatus.Skipped)
        {
            await TransitionAsync(StageStatus.Pending, Notice.ByAnswer);
        }

        return Change();
    }

    public async Task<StageChange> RerunAsync()
    {
        if (Stage.Status.IsActive())
        {
            await StopCurrentRunAsync("superseded by a rerun");
        }

        Stage.Outputs = [];
        Stage.LastCheckpoint = null;
        Stage.Progress = null;
        Stage.Metrics = [];
        await TransitionAsync(StageStatus.Pending, Notice.ByAnswer);
        return Change();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != RetryReminder)
        {
            return;
        }

        // Ticks can repeat or come early; only a due retry of a still-waiting stage starts an attempt.
        if (Stage.RetryAt is { } retryAt && Stage.Status == StageStatus.Queued && Stage.CurrentRunId is null)
        {
            if (time.GetUtcNow() < retryAt)
            {
                return;
            }

            Stage.RetryAt = null;
            await StartAttemptAsync(retryAt, Notice.ByCall);
        }

        await UnregisterRetryReminderAsync();
    }

    private ISchedulerGrain Scheduler => GrainFactory.GetGrain<ISchedulerGrain>(SchedulerGrain.Key);

    private IExperimentGrain Experiment => GrainFactory.GetGrain<IExperimentGrain>(Definition.ExperimentId);

    private async Task StartAttemptAsync(DateTimeOffset readyAt, Notice notice)
    {
        var now = time.GetUtcNow();
        var number = Stage.Attempts.Count + 1;
        var runId = $"{Definition.StageId}-a{number}-{Guid.NewGuid():N}";
        Stage.AttemptsInBudget++;
        Stage.CurrentRunId = runId;
        Stage.Progress = null;
        Stage.Attempts.Add(new StageAttempt { Attempt = number, RunId = runId, QueuedAt = now, ResumedFrom = Stage.LastCheckpoint });

        // The run reaches the scheduler before the experiment hears of it: this is the dispatch path.
        await TransitionAsync(StageStatus.Queued, notice, () => Scheduler.EnqueueAsync(Request(Stage.CurrentAttempt!, readyAt)));
    }

    private RunRequest Request(StageAttempt attempt, DateTimeOffset readyAt) => new()
    {
        RunId = attempt.RunId,
        Attempt = attempt.Attempt,
        ExperimentId = Definition.ExperimentId,
        StageId = Definition.StageId,
        Kind = Definition.Kind,
        OptionsJson = Definition.OptionsJson,
        Inputs = Stage.Inputs,
        ResumeFrom = attempt.ResumedFrom,
        Resources = Definition.Resources,
        Priority = Definition.Priority,
        ReadyAt = readyAt,
        SubmissionTrace = Stage.SubmissionTrace,
    };

    private async Task FailCurrentRunAsync(string error, bool retryable, ArtifactRef? lastCheckpoint)
    {
        var attempt = Stage.CurrentAttempt!;
        EndAttempt(attempt, StageStatus.Failed);
        attempt.Error = error;
        attempt.Retryable = retryable;
        if (lastCheckpoint is not null)
        {
            attempt.LastCheckpoint = lastCheckpoint;
            Stage.LastCheckpoint = lastCheckpoint;
        }

        Stage.CurrentRunId = null;
        var retry = Definition.Retry;
        if (retryable && Stage.AttemptsInBudget < retry.MaxAttempts)
        {
            var backoff = retry.BackoffBefore(Stage.AttemptsInBudget + 1);
            Stage.RetryAt = time.GetUtcNow() + backoff;
            OrchestratorMetrics.Retries.Add(1, new KeyValuePair<string, object?>("kind", Definition.Kind));
            using (RunScope(attempt.RunId))
            {
                logger.LogInformation("Stage {Stage} run {RunId} failed ({Error}); retrying in {Backoff}",
                    this.GetPrimaryKeyString(), attempt.RunId, error, backoff);
            }

            // The wait is held on a reminder so that it survives a silo restart; the stage waits Queued. Should the reminder
            // not follow the write (the call failed, or the silo went down), the report delivered again, the loss told again
            // or the experiment catching up registers it (EnsureRetryReminderAsync).
            await TransitionAsync(StageStatus.Queued);
            await this.RegisterOrUpdateReminder(RetryReminder, backoff, TimeSpan.FromMinutes(1));
            return;
        }

        using (RunScope(attempt.RunId))
        {
            logger.LogWarning("Stage {Stage} run {RunId} failed for good: {Error}", this.GetPrimaryKeyString(), attempt.RunId, error);
        }

        await TransitionAsync(StageStatus.Failed);
    }

    private async Task StopCurrentRunAsync(string reason)
    {
        if (Stage.CurrentAttempt is { } attempt)
        {
            EndAttempt(attempt, StageStatus.Cancelled);
            attempt.Error = reason;
            Stage.CurrentRunId = null;
            await Scheduler.CancelRunAsync(attempt.RunId, reason);
        }

        if (Stage.RetryAt is not null)
        {
            Stage.RetryAt = null;
            await UnregisterRetryReminderAsync();
        }
    }

    private void EndAttempt(StageAttempt attempt, StageStatus outcome)
    {
        attempt.EndedAt = time.GetUtcNow();
        attempt.Outcome = outcome;
    }

    /// <summary>
    /// Records the status, writes the state, runs <paramref name="afterWrite"/> (the hand-off to the scheduler of a
    /// queued run), then tells the experiment (unless it asked for the change and learns it from the answer), which
    /// publishes the change as a live event.
    /// </summary>
    private async Task TransitionAsync(StageStatus status, Notice notice = Notice.ByCall, Func<Task>? afterWrite = null)
    {
        var previous = Stage.Status;
        var changed = previous != status;
        Stage.Status = status;
        if (changed)
        {
            Stage.Version++;
            Stage.ChangedAt = time.GetUtcNow();
            OrchestratorMetrics.StageTransitions.Add(1,
                new KeyValuePair<string, object?>("kind", Definition.Kind), new KeyValuePair<string, object?>("status", status.ToString()));
            RecordDuration(previous, status);
        }

        await _state.WriteAsync();
        if (afterWrite is not null)
        {
            await afterWrite();
        }

        if (changed && notice == Notice.ByCall)
        {
            await NotifyExperimentAsync();
        }
    }

    /// <summary>
    /// How the experiment learns of a transition: by a call (a report, a loss, a retry), or by the answer to its own
    /// request (queue, cancel, resume, rerun), where a call as well would be one more message through the experiment's
    /// queue, ahead of the changes that are news to it.
    /// </summary>
    private enum Notice
    {
        ByCall,
        ByAnswer,
    }

    /// <summary>A stage that ends from Queued or Running took from its first queued run (of this round of attempts) until now.</summary>
    private void RecordDuration(StageStatus previous, StageStatus status)
    {
        if (!previous.IsActive() || !status.IsTerminal() || Stage.AttemptsInBudget == 0 || Stage.Attempts.Count < Stage.AttemptsInBudget)
        {
            return;
        }

        var firstQueuedAt = Stage.Attempts[^Stage.AttemptsInBudget].QueuedAt;
        OrchestratorMetrics.StageDuration.Record((Stage.ChangedAt - firstQueuedAt).TotalSeconds,
            new KeyValuePair<string, object?>("kind", Definition.Kind), new KeyValuePair<string, object?>("status", status.ToString()));
    }

    private IDisposable? RunScope(string runId) => logger.BeginScope(RunTelemetry.Scope(Definition.ExperimentId, Definition.StageId, runId));

    /// <summary>Registers the retry's reminder unless it is there (a silo that failed between the stage's write and its reminder).</summary>
    private async Task EnsureRetryReminderAsync(DateTimeOffset retryAt)
    {
        if (await this.GetReminder(RetryReminder) is null)
        {
            var due = retryAt - time.GetUtcNow();
            await this.RegisterOrUpdateReminder(RetryReminder, due > TimeSpan.Zero ? due : TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        }
    }

    private async Task UnregisterRetryReminderAsync()
    {
        if (await this.GetReminder(RetryReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private StageChange Change() => Change(Stage);

    private StageChange Change(StageState stage) => new()
    {
        StageId = Definition.StageId,
        Status = stage.Status,
        Version = stage.Version,
        At = stage.ChangedAt,
        Outputs = stage.Outputs,
        Event = ExperimentEvent.ForStage(Definition.ExperimentId, View(stage)),
    };

    private StageView View() => View(Stage);

    private StageView View(StageState stage) => new()
    {
        Id = Definition.StageId,
        Kind = Definition.Kind,
        Status = stage.Status,
        Version = stage.Version,
        ChangedAt = stage.ChangedAt,
        Upstream = Definition.Upstream,
        Attempts = stage.Attempts,
        Inputs = stage.Inputs,
        Outputs = stage.Outputs,
        Progress = stage.Progress is { } progress && stage.Status.IsActive()
            ? new ProgressView
            {
                Step = progress.Step,
                TotalSteps = progress.TotalSteps,
                Epoch = progress.Epoch,
                SamplesPerSecond = progress.SamplesPerSecond,
                EtaSeconds = progress.EtaSeconds,
                UpdatedAt = progress.UpdatedAt,
            }
            : null,
        Metrics = stage.Metrics,
        LastCheckpoint = stage.LastCheckpoint,
        RetryAt = stage.RetryAt,
        StaleReports = stage.StaleReports,
        DuplicateReports = stage.DuplicateReports,
    };
}
