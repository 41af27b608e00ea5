using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Telemetry;
using Orchestrator.Grains.Artifacts;
using Orchestrator.Grains.Events;
using Orchestrator.Grains.Experiments.Index;
using Orchestrator.Grains.Stages;
using Orleans.Serialization;

namespace Orchestrator.Grains.Experiments;

/// <summary>
/// Owns one experiment's DAG. Stages tell it when they change (one-way, so neither side ever waits on the
/// other); it queues each stage whose upstream stages have all succeeded, and derives its own status.
/// It acknowledges each change once taken in, and a stage sends its change again until then, so a notification
/// lost on the way only delays it; one lost with a silo is recovered when the scheduler has every running experiment
/// catch up. Nothing runs periodically: a reminder exists only while a creation or a user's change is being carried
/// through, to finish it should it fail half-way (docs/decisions/reminders-when-due.md). Only
/// durable facts (status, end, cancellation) are written: the per-stage records are a cache of the stage
/// grains' own state, rebuilt from them on activation, so a notification costs no write. It is the only
/// publisher of the experiment's live events, and publishes them only while a reader watches: a stage's change is
/// published when the experiment learns of it, after the stages it made ready are queued, and before the
/// experiment status it leads to.
/// </summary>
public sealed partial class ExperimentGrain(
    [PersistentState("experiment", OrchestratorStorage.Name)] IPersistentState<ExperimentState> state,
    [FromKeyedServices(OrchestratorClock.Key)] TimeProvider time,
    CreationGate creations,
    DeepCopier<ExperimentState> copier,
    ILogger<ExperimentGrain> logger) : Grain, IExperimentGrain, IRemindable
{
    /// <summary>The longest a reader may ask events to be published for without renewing.</summary>
    public static readonly TimeSpan MaxWatchLease = TimeSpan.FromMinutes(10);

    /// <summary>A failed write puts the state back as written (docs/decisions.md, storage outages).</summary>
    private readonly WrittenState<ExperimentState> _state = new(state, copier);

    private (ExperimentStatus, DateTimeOffset?, bool) _written;
    private DateTimeOffset _watchedUntil = DateTimeOffset.MinValue;

    /// <summary>True while <see cref="CreateAsync"/> runs: reads, which interleave, see no experiment until it is created.</summary>
    private bool _creating;

    /// <summary>Every stage grain was initialised in this activation (a creation that failed half-way may have left some out).</summary>
    private bool _stagesInitialized;

    private ExperimentState Experiment => state.State;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _state.Loaded();
        _written = Durable();
        if (Experiment.Exists && Experiment.Status == ExperimentStatus.Running)
        {
            await ReconcileAsync();
        }
    }

    /// <summary>Interleaves with any call: answers from what the grain holds (as written while a write is under way) and its stages hold.</summary>
    public async Task<ExperimentView?> GetAsync() =>
        _state.Visible is { Exists: true } experiment && !_creating ? await ViewAsync(experiment) : null;

    public async Task<ExperimentView?> CancelAsync()
    {
        if (!Experiment.Exists)
        {
            return null;
        }

        if (Experiment.Status is ExperimentStatus.Running or ExperimentStatus.Failed)
        {
            await CarryingThroughAsync();
            Experiment.Cancelled = true;
            foreach (var stage in Experiment.Stages)
            {
                if (!Experiment.StageRecords[stage.StageId].Status.IsTerminal())
                {
                    await LearnAsync(await Stage(stage.StageId).CancelAsync());
                }
            }

            await UpdateStatusAsync();
            await CarriedThroughAsync();
        }

        return await ViewAsync();
    }

    public async Task<ExperimentView?> ResumeAsync()
    {
        if (!Experiment.Exists)
        {
            return null;
        }

        await CarryingThroughAsync();
        Experiment.Cancelled = false;
        foreach (var stage in Experiment.Stages)
        {
            if (Experiment.StageRecords[stage.StageId].Status is StageStatus.Failed or StageStatus.Cancelled or StageStatus.Skipped)
            {
                await LearnAsync(await Stage(stage.StageId).ResumeAsync());
            }
        }

        await AdvanceAsync();
        await CarriedThroughAsync();
        return await ViewAsync();
    }

    public async Task<ExperimentView?> RerunStageAsync(string stageId)
    {
        if (!Experiment.Exists || Experiment.StageRecords.ContainsKey(stageId) is false)
        {
            return null;
        }

        await CarryingThroughAsync();
        Experiment.Cancelled = false;
        foreach (var stage in Downstream(stageId))
        {
            await LearnAsync(await Stage(stage).RerunAsync());
        }

        await AdvanceAsync();
        await CarriedThroughAsync();
        return await ViewAsync();
    }

    public async Task<LineageView?> GetLineageAsync()
    {
        if (_state.Visible is not { Exists: true } experiment || _creating)
        {
            return null;
        }

        var view = await ViewAsync(experiment);
        var artifacts = new List<LineageEntry>();
        foreach (var stage in view.Stages)
        {
            foreach (var (output, artifact) in stage.Outputs)
            {
                var attempt = stage.Attempts.LastOrDefault(a => a.RunId == artifact.RunId)
                    ?? stage.Attempts.LastOrDefault(a => a.Outcome == StageStatus.Succeeded);
                artifacts.Add(new LineageEntry
                {
                    Artifact = artifact,
                    Output = $"{stage.Id}.{output}",
                    StageId = stage.Id,
                    RunId = attempt?.RunId ?? artifact.RunId,
                    Attempt = attempt?.Attempt ?? 0,
                    Inputs = stage.Inputs,
                });
            }
        }

        return new LineageView { ExperimentId = this.GetPrimaryKeyString(), Artifacts = artifacts };
    }

    public async Task OnStageChangedAsync(StageChange change)
    {
        if (Experiment.Exists && Experiment.StageRecords.TryGetValue(change.StageId, out var record))
        {
            if (change.Version > record.Version)
            {
                Apply(record, change);

                // The stages this change made ready are queued first: that is the dispatch path; the events can wait.
                var queued = await QueueReadyStagesAsync();
                await PublishAsync(change.Event);
                await LearnAsync(queued);
                await UpdateStatusAsync();
            }
            else
            {
                // Known already: sent again, or overtaken by a later change. The first delivery may have been taken in and
                // its hand-offs failed (a stage that could not be queued, a status not written), so they are made again,
                // which costs nothing when they were made.
                await AdvanceAsync();
            }
        }

        // Only once the change is carried through: a call that failed above leaves it unacknowledged, and it comes again.
        await Stage(change.StageId).AcknowledgeChangeAsync(change.Version);
    }

    public async Task OnStageProgressedAsync(ExperimentEvent progress)
    {
        if (Experiment.StageRecords.TryGetValue(progress.StageId!, out var record) && progress.Version >= record.Version)
        {
            await PublishAsync(progress);
        }
    }

    public Task WatchAsync(TimeSpan lease)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(lease, MaxWatchLease);
        var until = time.GetUtcNow() + lease;
        _watchedUntil = until > _watchedUntil ? until : _watchedUntil;

        // The lease lives in this activation only: it must outlast the idle collection age (ExperimentOptions).
        DelayDeactivation(lease);
        return Task.CompletedTask;
    }

    /// <summary>Queues every Pending stage whose upstream stages have all succeeded, then updates the status.</summary>
    private async Task AdvanceAsync()
    {
        await LearnAsync(await QueueReadyStagesAsync());
        await UpdateStatusAsync();
    }

    /// <summary>
    /// Queues every Pending stage whose upstream stages have all succeeded, one after another in spec order (so they
    /// reach the scheduler's first-come-first-served queue in that order); returns what they became.
    /// </summary>
    private async Task<List<StageChange>> QueueReadyStagesAsync()
    {
        var queued = new List<StageChange>();
        if (Experiment.Cancelled)
        {
            return queued;
        }

        foreach (var stage in Experiment.Stages)
        {
            var record = Experiment.StageRecords[stage.StageId];
            var upstream = stage.Upstream.Select(id => Experiment.StageRecords[id]).ToList();
            if (record.Status == StageStatus.Pending && upstream.All(up => up.Status == StageStatus.Succeeded))
            {
                var readyAt = upstream.Select(up => up.ChangedAt).Append(record.ChangedAt).Max();
                queued.Add(await Stage(stage.StageId).QueueAsync(ResolveInputs(stage), readyAt));
            }
        }

        return queued;
    }

    /// <summary>Takes in each stage change newer than what the experiment knows, and publishes its event.</summary>
    private async Task LearnAsync(params IEnumerable<StageChange> changes)
    {
        foreach (var change in changes)
        {
            var record = Experiment.StageRecords[change.StageId];
            if (change.Version > record.Version)
            {
                Apply(record, change);
                await PublishAsync(change.Event);
            }
        }
    }

    private async Task UpdateStatusAsync()
    {
        var records = Experiment.StageRecords.Values.ToList();
        var status = Experiment.Cancelled ? ExperimentStatus.Cancelled
            : records.All(record => record.Status == StageStatus.Succeeded) ? ExperimentStatus.Succeeded
            : records.Any(record => record.Status.IsActive()) ? ExperimentStatus.Running
            : records.Any(record => record.Status is StageStatus.Failed) ? ExperimentStatus.Failed
            : ExperimentStatus.Running;
        var changed = status != Experiment.Status;
        Experiment.Status = status;
        Experiment.EndedAt = status is ExperimentStatus.Running ? null : Experiment.EndedAt ?? time.GetUtcNow();
        if (Durable() != _written)
        {
            await WriteAsync();
        }

        if (changed)
        {
            using (ExperimentScope())
            {
                logger.LogInformation("Experiment {ExperimentId} is {Status}", this.GetPrimaryKeyString(), status);
            }

            await PublishAsync(ExperimentEvent.ForExperiment(this.GetPrimaryKeyString(), status, time.GetUtcNow()));
        }
    }

    /// <summary>Publishes a live event while a reader watches (<see cref="WatchAsync"/>).</summary>
    private Task PublishAsync(ExperimentEvent change) =>
        time.GetUtcNow() < _watchedUntil ? this.PublishAsync(change, logger) : Task.CompletedTask;

    private IDisposable? ExperimentScope() => logger.BeginScope(RunTelemetry.Scope(this.GetPrimaryKeyString()));

    private (ExperimentStatus, DateTimeOffset?, bool) Durable() => (Experiment.Status, Experiment.EndedAt, Experiment.Cancelled);

    /// <summary>Writes the state and tells the index, whose summary holds exactly the durable facts.</summary>
    private async Task WriteAsync()
    {
        await _state.WriteAsync();
        _written = Durable();
        await ExperimentIndex.UpsertAsync(GrainFactory, Summary());
    }

    private Dictionary<string, List<ArtifactRef>> ResolveInputs(StageDefinition stage) =>
        stage.Inputs.ToDictionary(
            input => input.Name,
            input => input.References.Select(reference =>
            {
                var dot = reference.IndexOf('.', StringComparison.Ordinal);
                var producer = Experiment.StageRecords[reference[..dot]];
                return producer.Outputs.TryGetValue(reference[(dot + 1)..], out var artifact)
                    ? artifact
                    : throw new InvalidOperationException(
                        $"Stage '{reference[..dot]}' succeeded without its output '{reference[(dot + 1)..]}' that '{stage.StageId}' consumes.");
            }).ToList());

    /// <summary>The stage and every stage that depends on it, directly or not, in spec order.</summary>
    private List<string> Downstream(string stageId)
    {
        var affected = new HashSet<string> { stageId };
        bool grew;
        do
        {
            grew = false;
            foreach (var stage in Experiment.Stages.Where(stage => !affected.Contains(stage.StageId) && stage.Upstream.Any(affected.Contains)))
            {
                grew |= affected.Add(stage.StageId);
            }
        }
        while (grew);

        return [.. Experiment.Stages.Select(stage => stage.StageId).Where(affected.Contains)];
    }

    private static void Apply(StageRecord record, StageChange change)
    {
        record.Status = change.Status;
        record.Version = change.Version;
        record.Outputs = change.Outputs;
        record.ChangedAt = change.At;
    }

    private Task<ExperimentView> ViewAsync() => ViewAsync(Experiment);

    /// <summary>The experiment with every stage: those in <paramref name="known"/> as given, the others as they answer.</summary>
    private async Task<ExperimentView> ViewAsync(ExperimentState experiment, IReadOnlyDictionary<string, StageView>? known = null)
    {
        var stages = await Task.WhenAll(experiment.Stages.Select(stage =>
            known?.GetValueOrDefault(stage.StageId) is { } view ? Task.FromResult(view) : Stage(stage.StageId).GetAsync()));
        return new ExperimentView
        {
            Id = this.GetPrimaryKeyString(),
            Name = experiment.Name,
            Status = experiment.Status,
            CreatedAt = experiment.CreatedAt!.Value,
            EndedAt = experiment.EndedAt,
            Labels = experiment.Labels,
            Stages = [.. stages],
            SubmittedBy = experiment.SubmittedBy,
        };
    }

    private ExperimentSummary Summary() => new()
    {
        Id = this.GetPrimaryKeyString(),
        Name = Experiment.Name,
        Status = Experiment.Status,
        CreatedAt = Experiment.CreatedAt!.Value,
        EndedAt = Experiment.EndedAt,
        Stages = Experiment.Stages.Count,
        SubmittedBy = Experiment.SubmittedBy,
        Labels = new(Experiment.Labels),
    };

    private IStageGrain Stage(string stageId) => GrainFactory.GetGrain<IStageGrain>(StageKey.Of(this.GetPrimaryKeyString(), stageId));
}
