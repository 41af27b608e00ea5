using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Scheduling;

/// <summary>The Orleans shell around <see cref="SchedulerCore"/>: persists its state, dispatches its assignments, watches heartbeats.</summary>
public sealed class SchedulerGrain(
    [PersistentState("scheduler", OrchestratorStorage.Name)] IPersistentState<SchedulerState> state,
    IStageRunDispatcher dispatcher,
    IOptions<SchedulerOptions> options,
    [FromKeyedServices(OrchestratorClock.Key)] TimeProvider time,
    ILogger<SchedulerGrain> logger) : Grain, ISchedulerGrain
{
    public const long Key = 0;

    private SchedulerCore _core = null!;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _core = new SchedulerCore(state.State);
        this.RegisterGrainTimer(CheckWorkersOnTimerAsync, new GrainTimerCreationOptions
        {
            DueTime = options.Value.CheckInterval,
            Period = options.Value.CheckInterval,
            Interleave = false,
        });
        return Task.CompletedTask;
    }

    public async Task HeartbeatAsync(string workerId, WorkerCapacity capacity, List<string> activeRunIds)
    {
        var now = time.GetUtcNow();
        var known = state.State.Workers.TryGetValue(workerId, out var worker) && !worker.Lost;
        _core.Heartbeat(workerId, capacity, now);
        if (!known)
        {
            logger.LogInformation("Worker {WorkerId} registered: {Slots} slots, {Device}", workerId, capacity.Slots, capacity.Device);
            OrchestratorMetrics.WorkersRegistered.Add(1);
        }

        var lost = _core.Reconcile(workerId, activeRunIds, now, options.Value.HeartbeatTimeout);
        await SaveAndDispatchAsync(now, lost);
    }

    public async Task DeregisterAsync(string workerId)
    {
        if (state.State.Workers.Remove(workerId))
        {
            logger.LogInformation("Worker {WorkerId} deregistered", workerId);
            await state.WriteStateAsync();
        }
    }

    public async Task EnqueueAsync(RunRequest run)
    {
        _core.Enqueue(run);
        await SaveAndDispatchAsync(time.GetUtcNow(), []);
    }

    public async Task ReleaseAsync(string runId)
    {
        _core.Release(runId);
        await SaveAndDispatchAsync(time.GetUtcNow(), []);
    }

    public async Task CancelRunAsync(string runId, string reason)
    {
        if (_core.Release(runId) is { } assignment)
        {
            await dispatcher.CancelAsync(assignment, assignment.WorkerIds, reason);
        }

        await SaveAndDispatchAsync(time.GetUtcNow(), []);
    }

    public async Task CheckWorkersAsync()
    {
        var now = time.GetUtcNow();
        var lost = _core.DetectLost(now, options.Value.HeartbeatTimeout);
        if (lost.Count > 0 || state.State.Queue.Count > 0)
        {
            await SaveAndDispatchAsync(now, lost);
        }
    }

    public Task<SchedulerSnapshot> GetSnapshotAsync() => Task.FromResult(_core.Snapshot());

    private Task CheckWorkersOnTimerAsync(CancellationToken cancellationToken) => CheckWorkersAsync();

    private async Task SaveAndDispatchAsync(DateTimeOffset now, List<LostRun> lost)
    {
        var assignments = _core.AssignReady(now);
        await state.WriteStateAsync();
        OrchestratorMetrics.QueueDepth = state.State.Queue.Count;

        foreach (var run in lost)
        {
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
            OrchestratorMetrics.DispatchLatency.Record((time.GetUtcNow() - assignment.Run.ReadyAt).TotalSeconds);
            await dispatcher.StartAsync(assignment);
            await StageOf(assignment.Run).OnRunAssignedAsync(assignment.Run.RunId, assignment.WorkerIds, assignment.AssignedAt);
        }
    }

    private IStageGrain StageOf(RunRequest run) => GrainFactory.GetGrain<IStageGrain>(StageKey.Of(run.ExperimentId, run.StageId));
}
