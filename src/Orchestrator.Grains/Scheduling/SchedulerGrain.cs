using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Contracts.Telemetry;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Experiments.Index;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Scheduling;

/// <summary>
/// The Orleans shell around <see cref="SchedulerCore"/>: dispatches its assignments and watches heartbeats.
/// Its state is soft (see <see cref="SchedulerState"/>): writing the whole queue on every call would make
/// each call cost as much as the queue is long. After an activation it asks every running experiment to
/// catch up, and their stages announce their runs again; until all have (or the heartbeat timeout passes)
/// it assigns nothing, so a queued run cannot take the slot of a running run not yet announced.
/// </summary>
public sealed class SchedulerGrain(
    IStageRunDispatcher dispatcher,
    ITransportHealth transport,
    IOptions<SchedulerOptions> options,
    [FromKeyedServices(OrchestratorClock.Key)] TimeProvider time,
    ILogger<SchedulerGrain> logger) : Grain, ISchedulerGrain
{
    public const long Key = 0;

    private readonly SchedulerCore _core = new(new SchedulerState(), options.Value.ReserveAfter);
    private readonly HashSet<string> _recovering = [];
    private DateTimeOffset _recoveryDeadline;
    private bool _outageReported;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var running = await ExperimentIndex.ListAllAsync(GrainFactory, new ExperimentQuery { Status = ExperimentStatus.Running });
        _recoveryDeadline = time.GetUtcNow() + options.Value.HeartbeatTimeout;
        foreach (var experiment in running)
        {
            _recovering.Add(experiment.Id);
            await GrainFactory.GetGrain<IExperimentGrain>(experiment.Id).CatchUpAsync();
        }

        if (_recovering.Count > 0)
        {
            logger.LogInformation("Scheduler activated: waiting for {Experiments} running experiments to announce their runs", _recovering.Count);
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
        if (_recovering.Remove(experimentId) && _recovering.Count == 0)
        {
            logger.LogInformation("Scheduler recovered its runs from the stages; assigning again");
            await DispatchAsync(time.GetUtcNow(), []);
        }
    }

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
        if (_recovering.Count > 0 && now >= _recoveryDeadline)
        {
            logger.LogWarning("Experiments {Experiments} did not announce their runs in time; assigning anyway", string.Join(", ", _recovering));
            _recovering.Clear();
        }

        var assignments = _recovering.Count == 0 ? _core.AssignReady(now) : [];
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

            await StageOf(run.Assignment.Run).OnRunLostAsync(run.Assignment.Run.RunId,
                $"worker {run.WorkerId} was lost: no heartbeat for {options.Value.HeartbeatTimeout.TotalSeconds:0.#} s");
        }

        foreach (var assignment in assignments)
        {
            OrchestratorMetrics.DispatchLatency.Record((time.GetUtcNow() - assignment.Run.ReadyAt).TotalSeconds, new KeyValuePair<string, object?>("kind", assignment.Run.Kind));
            await StartRunAsync(assignment);
            await StageOf(assignment.Run).OnRunAssignedAsync(assignment.Run.RunId, assignment.WorkerIds, assignment.AssignedAt);
        }
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
