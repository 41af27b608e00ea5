using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Contracts.Telemetry;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Scheduling;

/// <summary>
/// The Orleans shell around <see cref="SchedulerCore"/>: dispatches its assignments and watches heartbeats.
/// Its state is soft (see <see cref="SchedulerState"/>): writing the whole queue on every call would make
/// each call cost as much as the queue is long. After an activation it asks every running experiment to
/// catch up, a window at a time (<see cref="CatchUpQueue"/>), and their stages announce their runs again; until all have
/// (or none has answered for the heartbeat timeout) it places
/// runs only on workers whose heartbeats list no run not yet announced (<see cref="SchedulerCore.BeginRecovery"/>), so a
/// queued run cannot take the slot of a running run not yet announced, and one whose stage missed its assignment is
/// taken back as running rather than placed twice. What it tells
/// one way (a lost run, a catch-up) it sends again at its checks until acknowledged, and when a silo leaves the cluster
/// it has every running experiment catch up, which recovers whatever one-way message went down with that silo.
/// It is never collected for idleness: its memory is the queue, and getting it back costs every running experiment a
/// catch-up, while one activation costs nothing.
/// </summary>
[CollectionAgeLimit(AlwaysActive = true)]
public sealed partial class SchedulerGrain(
    IStageRunDispatcher dispatcher,
    ITransportHealth transport,
    IClusterMembershipService membership,
    IOptions<SchedulerOptions> options,
    [FromKeyedServices(OrchestratorClock.Key)] TimeProvider time,
    ILogger<SchedulerGrain> logger) : Grain, ISchedulerGrain
{
    public const long Key = 0;

    private readonly SchedulerCore _core = new(new SchedulerState(), options.Value.ReserveAfter);
    private DateTimeOffset _recoveryDeadline;
    private bool _outageReported;

    private DateTimeOffset _activatedAt;
    private bool _placedWhileRecovering;

    /// <summary>Lost runs told to their stages and not yet acknowledged, by run: sent again when due.</summary>
    private readonly Dictionary<string, (RunRequest Run, string Reason, Unacknowledged Wait)> _unacknowledgedLosses = [];

    /// <summary>The cluster's silos as last checked, to see one leave.</summary>
    private ClusterMembershipSnapshot? _members;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _members = membership.CurrentSnapshot;
        _activatedAt = time.GetUtcNow();
        _recoveryDeadline = _activatedAt + options.Value.HeartbeatTimeout;
        _core.BeginRecovery();
        StartCatchUps();
        await SendCatchUpsAsync(_activatedAt);
        if (_core.Recovering)
        {
            logger.LogInformation("Scheduler activated: running experiments announce their runs, {Window} at a time ({Listed} listed so far); until they have, runs go only to workers with none unannounced",
                options.Value.CatchUpsInFlight, _catchUps.Waiting + _catchUps.Unanswered);
        }

        this.RegisterGrainTimer(CheckWorkersOnTimerAsync, new GrainTimerCreationOptions
        {
            DueTime = options.Value.CheckInterval,
            Period = options.Value.CheckInterval,
            Interleave = false,
        });
    }

    public async Task HeartbeatAsync(string workerId, WorkerCapacity capacity, List<string> activeRunIds)
    {
        var now = time.GetUtcNow();
        var known = _core.State.Workers.TryGetValue(workerId, out var worker) && !worker.Lost;
        _core.Heartbeat(workerId, capacity, now);
        foreach (var found in _core.Listed(workerId, activeRunIds, now))
        {
            await TellAdoptedAsync(found);
        }

        if (!known)
        {
            logger.LogInformation("Worker {WorkerId} registered: {Slots} slots, {Device}", workerId, capacity.Slots, capacity.Device);
            OrchestratorMetrics.WorkersRegistered.Add(1);
        }

        var lost = _core.Reconcile(workerId, activeRunIds, now, options.Value.HeartbeatTimeout);
        foreach (var superseded in _core.Superseded(workerId, activeRunIds, now))
        {
            using var scope = RunScope(superseded.Run);
            logger.LogWarning("Worker {WorkerId} is back and still running {RunId}, which was taken back when the worker was lost; cancelling it",
                workerId, superseded.Run.RunId);
            await dispatcher.CancelAsync(superseded, [workerId], $"run {superseded.Run.RunId} was taken back when worker {workerId} was lost; its stage has moved on");
        }

        await DispatchAsync(now, lost);
    }

    public async Task DeregisterAsync(string workerId)
    {
        if (_core.State.Workers.Remove(workerId))
        {
            logger.LogInformation("Worker {WorkerId} deregistered", workerId);
        }

        await DispatchAsync(time.GetUtcNow(), []);
    }

    public async Task EnqueueAsync(RunRequest run)
    {
        if (_core.State.Running.TryGetValue(run.RunId, out var assignment))
        {
            // Announced as queued, but out on workers: the stage missed its assignment.
            await StageOf(run).OnRunAssignedAsync(run.RunId, assignment.WorkerIds, assignment.AssignedAt);
            return;
        }

        if (_core.ListedBy(run.RunId) is { } workers)
        {
            // Announced as queued while workers run it: placed before the scheduler lost its memory, and the stage missed it.
            var found = new RunAssignment { Run = run, WorkerIds = workers, AssignedAt = time.GetUtcNow() };
            _core.Adopt(found, found.AssignedAt);
            await TellAdoptedAsync(found);
            return;
        }

        _core.Enqueue(run);
        await DispatchAsync(time.GetUtcNow(), []);
    }

    public async Task AdoptAsync(RunAssignment assignment)
    {
        var now = time.GetUtcNow();
        if (_core.Adopt(assignment, now))
        {
            using var scope = RunScope(assignment.Run);
            logger.LogInformation("Run {RunId} of {ExperimentId}/{StageId} adopted on {Workers}",
                assignment.Run.RunId, assignment.Run.ExperimentId, assignment.Run.StageId, string.Join(", ", assignment.WorkerIds));
        }

        await DispatchAsync(now, []);
    }

    public async Task CaughtUpAsync(string experimentId)
    {
        var now = time.GetUtcNow();
        if (!_catchUps.Answered(experimentId))
        {
            return;
        }

        if (_core.Recovering)
        {
            // Answers still coming in: the wait for the rest starts again.
            _recoveryDeadline = now + options.Value.HeartbeatTimeout;
        }

        if (await SendCatchUpsAsync(now))
        {
            await DispatchAsync(now, []);
        }
    }

    public Task RunLossAcknowledgedAsync(string runId)
    {
        _unacknowledgedLosses.Remove(runId);
        return Task.CompletedTask;
    }

    public Task<RunAssignment?> GetAssignmentAsync(string runId) => Task.FromResult(_core.State.Running.GetValueOrDefault(runId));

    public async Task ReleaseAsync(string runId)
    {
        _core.Release(runId);
        await DispatchAsync(time.GetUtcNow(), []);
    }

    public async Task CancelRunAsync(string runId, string reason)
    {
        if (_core.Release(runId) is { } assignment)
        {
            await dispatcher.CancelAsync(assignment, assignment.WorkerIds, reason);
        }

        await DispatchAsync(time.GetUtcNow(), []);
    }

    public async Task FailGangAsync(string runId, string reason)
    {
        if (_core.Release(runId) is { } assignment)
        {
            _core.Suspect(assignment.WorkerIds, time.GetUtcNow());
            await dispatcher.CancelAsync(assignment, assignment.WorkerIds, reason);
        }

        await DispatchAsync(time.GetUtcNow(), []);
    }

    public async Task CheckWorkersAsync()
    {
        var now = time.GetUtcNow();
        await SendUnacknowledgedAgainAsync(now);
        await CatchUpAfterDeparturesAsync(now);
        await SendCatchUpsAsync(now);
        var status = transport.Check();
        if (!status.Receiving)
        {
            // Nothing sent now would arrive either, so queued runs wait too.
            if (_core.Deaf(now) && !status.Settling)
            {
                logger.LogWarning("Heartbeats cannot arrive ({Transport}); no worker is declared lost until they can", status.Description);
                OrchestratorMetrics.TransportOutages.Add(1);
                _outageReported = true;
            }

            return;
        }

        if (_core.Hearing(now) is { } outage && _outageReported)
        {
            _outageReported = false;
            logger.LogInformation("Heartbeats can arrive again after {OutageSeconds:0.#} s; each worker has {GraceSeconds:0.#} s to be heard before it is declared lost",
                outage.TotalSeconds, Math.Max(options.Value.HeartbeatTimeout.TotalSeconds, options.Value.ReconnectGrace.TotalSeconds));
        }

        var lost = _core.DetectLost(now, options.Value.HeartbeatTimeout, options.Value.ReconnectGrace);
        if (lost.Count > 0 || _core.State.Queue.Count > 0)
        {
            await DispatchAsync(now, lost);
        }
    }

    public Task<SchedulerSnapshot> GetSnapshotAsync() => Task.FromResult(_core.Snapshot());

    private Task CheckWorkersOnTimerAsync(CancellationToken cancellationToken) => CheckWorkersAsync();

    private async Task DispatchAsync(DateTimeOffset now, List<LostRun> lost)
    {
        if (_core.Recovering && now >= _recoveryDeadline)
        {
            logger.LogWarning("{Unanswered} running experiments did not announce their runs in time, {Waiting} listed were not asked yet (more to list: {Listing}); assigning anyway",
                _catchUps.Unanswered, _catchUps.Waiting, _listing);
            EndRecovery("the wait for announcements is over");
        }

        var assignments = _core.AssignReady(now);
        if (assignments.Count > 0 && _core.Recovering && !_placedWhileRecovering)
        {
            _placedWhileRecovering = true;
            using var scope = RunScope(assignments[0].Run);
            logger.LogInformation("Run {RunId} is the first placed while the scheduler recovers, {Seconds:0.###} s after its activation",
                assignments[0].Run.RunId, (now - _activatedAt).TotalSeconds);
        }
        OrchestratorMetrics.QueueDepth = _core.State.Queue.Count;

        foreach (var run in lost)
        {
            using var scope = RunScope(run.Assignment.Run);
            logger.LogWarning("Worker {WorkerId} lost; run {RunId} of {ExperimentId}/{StageId} will be retried",
                run.WorkerId, run.Assignment.Run.RunId, run.Assignment.Run.ExperimentId, run.Assignment.Run.StageId);
            OrchestratorMetrics.WorkersLost.Add(1);
            var others = run.Assignment.WorkerIds.Where(id => id != run.WorkerId).ToList();
            if (others.Count > 0)
            {
                await dispatcher.CancelAsync(run.Assignment, others, $"gang member {run.WorkerId} was lost");
            }

            var reason = $"worker {run.WorkerId} was lost: no heartbeat for {options.Value.HeartbeatTimeout.TotalSeconds:0.#} s";
            _unacknowledgedLosses[run.Assignment.Run.RunId] = (run.Assignment.Run, reason, Unacknowledged.From(now));
            await StageOf(run.Assignment.Run).OnRunLostAsync(run.Assignment.Run.RunId, reason);
        }

        foreach (var assignment in assignments)
        {
            OrchestratorMetrics.DispatchLatency.Record((time.GetUtcNow() - assignment.Run.ReadyAt).TotalSeconds, new KeyValuePair<string, object?>("kind", assignment.Run.Kind));
            await StartRunAsync(assignment);
            await StageOf(assignment.Run).OnRunAssignedAsync(assignment.Run.RunId, assignment.WorkerIds, assignment.AssignedAt);
        }
    }

    private void EndRecovery(string why)
    {
        _core.EndRecovery();
        logger.LogInformation("Scheduler recovered its runs from the stages {Seconds:0.###} s after its activation ({Why}); every worker takes runs again",
            (time.GetUtcNow() - _activatedAt).TotalSeconds, why);
    }

    /// <summary>Sends again each lost run whose acknowledgement is overdue, waiting longer each time.</summary>
    private async Task SendUnacknowledgedAgainAsync(DateTimeOffset now)
    {
        foreach (var (runId, (run, reason, wait)) in _unacknowledgedLosses.Where(entry => entry.Value.Wait.Due <= now).ToList())
        {
            using var scope = RunScope(run);
            logger.LogInformation("Run {RunId} of {ExperimentId}/{StageId}: its stage has not acknowledged the loss; telling it again", runId, run.ExperimentId, run.StageId);
            OrchestratorMetrics.RecordResent(OrchestratorMetrics.ResentMessage.RunLost);
            _unacknowledgedLosses[runId] = (run, reason, wait.Next(now));
            await StageOf(run).OnRunLostAsync(runId, reason);
        }
    }

    /// <summary>When a one-way message is due to be sent again unless acknowledged first, and how long the sender waited last.</summary>
    private sealed record Unacknowledged(DateTimeOffset Due, TimeSpan Wait)
    {
        public static Unacknowledged From(DateTimeOffset now) => new(now + Redelivery.FirstWait, Redelivery.FirstWait);

        public Unacknowledged Next(DateTimeOffset now) => new(now + Redelivery.After(Wait), Redelivery.After(Wait));
    }

    /// <summary>A run announced as queued was found running on workers (placed before the scheduler lost its memory): its stage is told.</summary>
    private async Task TellAdoptedAsync(RunAssignment found)
    {
        using var scope = RunScope(found.Run);
        logger.LogInformation("Run {RunId} of {ExperimentId}/{StageId} announced as queued is running on {Workers}; adopted, not placed again",
            found.Run.RunId, found.Run.ExperimentId, found.Run.StageId, string.Join(", ", found.WorkerIds));
        await StageOf(found.Run).OnRunAssignedAsync(found.Run.RunId, found.WorkerIds, found.AssignedAt);
    }

    /// <summary>Sends the run to its workers as the root of the run's own trace (an async method of its own: see <see cref="OrchestratorTracing.StartRun"/>).</summary>
    private async Task StartRunAsync(RunAssignment assignment)
    {
        using var activity = OrchestratorTracing.StartRun(assignment.Run);
        using var scope = RunScope(assignment.Run);
        logger.LogInformation("Run {RunId} (attempt {Attempt}) dispatched to {Workers}",
            assignment.Run.RunId, assignment.Run.Attempt, string.Join(", ", assignment.WorkerIds));
        await dispatcher.StartAsync(assignment);
    }

    private IDisposable? RunScope(RunRequest run) => logger.BeginScope(RunTelemetry.Scope(run.ExperimentId, run.StageId, run.RunId));

    private IStageGrain StageOf(RunRequest run) => GrainFactory.GetGrain<IStageGrain>(StageKey.Of(run.ExperimentId, run.StageId));
}
