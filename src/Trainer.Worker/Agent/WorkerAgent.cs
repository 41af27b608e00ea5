using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Messages;
using Orchestrator.Contracts.Telemetry;
using Trainer.Worker.Observability;
using Trainer.Worker.Runners;
using Trainer.Worker.Runners.Gangs;
using Trainer.Worker.Telemetry;

namespace Trainer.Worker.Agent;

/// <summary>
/// The worker: registers with the scheduler and sends heartbeats, keeps the table of the runs assigned to it,
/// runs each on a background task through its kind's <see cref="IStageRunner"/>, reports every step of the way,
/// and drains on shutdown (every run saves a checkpoint and is reported retryable, then the worker deregisters).
/// </summary>
/// <remarks>
/// Accepting a run only records it, so the broker message is acknowledged at once and never held for the
/// length of a run. More runs than slots (the scheduler should not send them, but a scheduler that restarted
/// with stale capacity might) wait in a local FIFO queue: they count as active in heartbeats and start when a
/// slot frees, which costs the stage no attempt, unlike refusing them with a retryable failure would.
/// </remarks>
public sealed class WorkerAgent : IHostedLifecycleService
{
    /// <summary>Finished run ids remembered so that a redelivered StartStageRun is ignored, not run again.</summary>
    private const int FinishedRunsRemembered = 4096;

    private readonly WorkerOptions _options;
    private readonly StageRunnerRegistry _registry;
    private readonly ReportPublisher _publisher;
    private readonly BusReadiness _bus;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<WorkerAgent> _logger;
    private readonly Lazy<WorkerCapacityInfo> _capacity;
    private readonly RunExecutor _executor;
    private readonly RunWatchdog _watchdog;
    private readonly WorkerMetrics _metrics;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, RunEntry> _runs = new(StringComparer.Ordinal);
    private readonly Queue<RunEntry> _waiting = new();
    private readonly Queue<string> _finished = new();
    private readonly CancellationTokenSource _heartbeatStop = new();
    private long _sequence;
    private int _busySlots;
    private bool _draining;
    private Task? _drain;
    private PeriodicTimer? _heartbeatTimer;
    private Task _heartbeats = Task.CompletedTask;

    public WorkerAgent(
        IOptions<WorkerOptions> options,
        StageRunnerRegistry registry,
        ReportPublisher publisher,
        BusReadiness bus,
        IArtifactStore store,
        TimeProvider timeProvider,
        WorkerMetrics metrics,
        IGangRendezvous rendezvous,
        ILoggerFactory loggerFactory)
    {
        _options = options.Value;
        _registry = registry;
        _publisher = publisher;
        _bus = bus;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = loggerFactory.CreateLogger<WorkerAgent>();
        _capacity = new Lazy<WorkerCapacityInfo>(() =>
        {
            var capacity = DeviceProbe.Capacity(_options, _registry.Kinds, _logger);
            if (capacity.Device == "cuda")
            {
                metrics.WatchGpuMemory(_logger);
            }

            return capacity;
        });
        // Resuming goes through the resolver, so a corrupt checkpoint falls back to an older one that verifies.
        var checkpoints = new CheckpointResolver(store, loggerFactory.CreateLogger<CheckpointResolver>());
        _executor = new RunExecutor(_options, _capacity, registry, publisher, store, checkpoints, timeProvider, metrics, rendezvous, loggerFactory);
        _watchdog = new RunWatchdog(_options.ProgressTimeout, timeProvider, OnStalled);
    }

    public string WorkerId => _options.WorkerId;

    /// <summary>What this worker offers the scheduler (the device is probed on first use).</summary>
    public WorkerCapacityInfo Capacity => _capacity.Value;

    /// <summary>The runs assigned here and not yet reported finished, running or queued, in the order they came.</summary>
    public IReadOnlyList<string> ActiveRunIds
    {
        get
        {
            lock (_lock)
            {
                return [.. _runs.Values.Where(entry => !entry.IsFinished).OrderBy(entry => entry.Sequence).Select(entry => entry.Run.RunId)];
            }
        }
    }

    /// <summary>
    /// Records the run and returns: it starts on a background task when a slot is free. A run id seen before
    /// (a redelivery) is ignored.
    /// </summary>
    public Task<RunAcceptance> AcceptAsync(StartStageRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        RunAcceptance acceptance;
        lock (_lock)
        {
            if (_runs.ContainsKey(run.RunId))
            {
                acceptance = RunAcceptance.Duplicate;
            }
            else
            {
                var entry = new RunEntry(run, ++_sequence);
                _runs.Add(run.RunId, entry);
                if (_draining)
                {
                    MarkStopLocked(entry, RunStop.Drain);
                    acceptance = RunAcceptance.Refused;
                }
                else if (_busySlots < _options.Slots)
                {
                    _busySlots++;
                    entry.SlotGranted.SetResult();
                    acceptance = RunAcceptance.Started;
                }
                else
                {
                    _waiting.Enqueue(entry);
                    acceptance = RunAcceptance.Queued;
                }

                entry.Execution = Task.Run(() => RunAsync(entry), CancellationToken.None);
            }
        }

        using (BeginRunScope(run))
        {
            _logger.LogInformation("StartStageRun for {Kind}, attempt {Attempt}: {Acceptance}", run.Kind, run.Attempt, acceptance);
        }

        return Task.FromResult(acceptance);
    }

    /// <summary>
    /// Asks the run to stop: its runner saves a checkpoint and stops, and the run is reported failed, not
    /// retryable, with error <c>cancelled: {reason}</c>. False when the run is not active here.
    /// </summary>
    public Task<bool> CancelAsync(CancelStageRun cancel, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cancel);
        RunEntry? entry;
        bool stopping;
        lock (_lock)
        {
            stopping = _runs.TryGetValue(cancel.RunId, out entry) && MarkStopLocked(entry, RunStop.Cancel(cancel.Reason));
        }

        using (_logger.BeginScope(RunScope(cancel)))
        {
            if (stopping)
            {
                _logger.LogInformation("Cancelling the run: {Reason}", cancel.Reason);
                SignalStop(entry!);
            }
            else
            {
                _logger.LogInformation("CancelStageRun ignored: the run is not active on worker {WorkerId}", WorkerId);
            }
        }

        return Task.FromResult(stopping);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Starts the heartbeats, which begin with RegisterWorker once the bus is ready; returns without waiting for it.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var capacity = Capacity;
        if (DeviceProbe.ApplyTorchThreads(_options) is { } threads)
        {
            _logger.LogInformation("libtorch uses {Threads} threads per operation (Worker:TorchThreads)", threads);
        }

        _heartbeatTimer = new PeriodicTimer(_options.HeartbeatInterval, _timeProvider);
        _heartbeats = Task.Run(() => HeartbeatLoopAsync(_heartbeatTimer, _heartbeatStop.Token), CancellationToken.None);
        _logger.LogInformation("Worker {WorkerId} started: {Slots} slots on {Device} ({DeviceName}); runs {Kinds}",
            WorkerId, capacity.Slots, capacity.Device, capacity.DeviceName, _registry.Kinds.Count == 0 ? "no kinds" : string.Join(", ", _registry.Kinds));
        return Task.CompletedTask;
    }

    /// <summary>Once every hosted service has started (the metrics exporter listens), gives the counters their zeros.</summary>
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        _metrics.PublishZeros(_registry.Kinds);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Drains before any hosted service stops, so the bus is still up for the last reports whatever order the
    /// services were registered in.
    /// </summary>
    public Task StoppingAsync(CancellationToken cancellationToken) => DrainAsync(cancellationToken);

    /// <summary>Drains, if <see cref="StoppingAsync"/> has not (a host or test harness that calls only StopAsync).</summary>
    public Task StopAsync(CancellationToken cancellationToken) => DrainAsync(cancellationToken);

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Stops taking runs, stops every run with reason "worker shutting down", gives them
    /// <see cref="WorkerOptions.DrainTimeout"/> to save a checkpoint, reports each failed and retryable, and
    /// deregisters. Runs once; later calls wait for the same drain.
    /// </summary>
    public Task DrainAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_drain is null)
            {
                _draining = true;
                List<RunEntry> stopping = [.. _runs.Values.Where(entry => !entry.IsFinished)];
                List<RunEntry> signalled = [.. stopping.Where(entry => MarkStopLocked(entry, RunStop.Drain))];
                signalled.ForEach(ArmAbortTimer);

                // The drain timeout counts from the stop request, not from when the drain task gets a thread.
                var deadline = Task.Delay(_options.DrainTimeout, _timeProvider, cancellationToken);
                _drain = Task.Run(() => DrainOnceAsync(stopping, signalled, deadline, cancellationToken), CancellationToken.None);
            }

            return _drain.WaitAsync(cancellationToken);
        }
    }

    /// <summary>The task that runs and reports the run, complete once its final report is out; for tests.</summary>
    internal Task WhenRunEnded(string runId)
    {
        lock (_lock)
        {
            return _runs.TryGetValue(runId, out var entry)
                ? entry.Execution
                : throw new InvalidOperationException($"run {runId} is unknown to worker {WorkerId}");
        }
    }

    private async Task DrainOnceAsync(List<RunEntry> stopping, List<RunEntry> signalled, Task deadline, CancellationToken cancellationToken)
    {
        _logger.LogInformation("Worker {WorkerId} draining {Runs} runs; each has {DrainTimeout} to save a checkpoint and stop", WorkerId, stopping.Count, _options.DrainTimeout);
        signalled.ForEach(entry => entry.Cancellation.Cancel());

        var stopped = Task.WhenAll(stopping.Select(entry => entry.Execution));
        if (await Task.WhenAny(stopped, deadline) != stopped)
        {
            foreach (var entry in stopping.Where(entry => !entry.IsFinished))
            {
                using (BeginRunScope(entry.Run))
                {
                    _logger.LogWarning("The run did not stop within {DrainTimeout}; reporting it from its last checkpoint", _options.DrainTimeout);
                    await FinishAsync(entry, RunExecutor.Failure(entry.Run, entry.Stop ?? RunStop.Drain, entry.LastCheckpoint), cancellationToken);
                }
            }
        }

        // Heartbeats go on while the runs stop, so the scheduler does not declare the worker lost meanwhile.
        await _heartbeatStop.CancelAsync();
        await _heartbeats;
        _heartbeatTimer?.Dispose();

        await TryPublishAsync(new DeregisterWorker { WorkerId = WorkerId }, cancellationToken);
        _logger.LogInformation("Worker {WorkerId} deregistered", WorkerId);
    }

    private async Task HeartbeatLoopAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            await _bus.Ready.WaitAsync(cancellationToken);

            // Until the scheduler has heard RegisterWorker, each tick tries that again instead of a heartbeat.
            var registered = await TryPublishAsync(Registration(), cancellationToken);
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                if (registered)
                {
                    await TryPublishAsync(Heartbeat(), cancellationToken);
                }
                else
                {
                    registered = await TryPublishAsync(Registration(), cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Draining: the last word is DeregisterWorker.
        }
    }

    private RegisterWorker Registration() => new()
    {
        WorkerId = WorkerId,
        Capacity = Capacity,
        SentAt = _timeProvider.GetUtcNow(),
    };

    private RecordWorkerHeartbeat Heartbeat() => new()
    {
        WorkerId = WorkerId,
        Capacity = Capacity,
        ActiveRunIds = ActiveRunIds,
        SentAt = _timeProvider.GetUtcNow(),
    };

    private async Task RunAsync(RunEntry entry)
    {
        using var scope = BeginRunScope(entry.Run);
        using var activity = WorkerTracing.StartRun(entry.Run, WorkerId);
        var granted = false;
        try
        {
            IStageRunMessage outcome;
            try
            {
                await entry.SlotGranted.Task;
                granted = true;
                _watchdog.Watch(entry);
                outcome = await _executor.ExecuteAsync(entry);
            }
            catch (OperationCanceledException) when (!granted)
            {
                // Stopped while queued: it never ran, so it resumes from the checkpoint it was given.
                outcome = RunExecutor.Failure(entry.Run, entry.Stop ?? RunStop.Drain, entry.Run.ResumeFrom);
            }

            // Not the run's tokens: the final report must go out even for a run that was stopped.
            await FinishAsync(entry, outcome, CancellationToken.None);
        }
        catch (Exception exception)
        {
            _logger.LogError(exception, "The run ended without its final report");
        }
        finally
        {
            entry.AbortTimer?.Dispose();
            entry.Watchdog?.Dispose();
            if (granted)
            {
                ReleaseSlot();
            }
        }
    }

    /// <summary>Sends the run's one final report, then takes it off the active list.</summary>
    private async Task FinishAsync(RunEntry entry, IStageRunMessage outcome, CancellationToken cancellationToken)
    {
        if (!entry.TryClaimFinalReport())
        {
            return;
        }

        switch (outcome)
        {
            case StageRunCompleted completed:
                await TryPublishAsync(completed, cancellationToken);
                _logger.LogInformation("Run completed with outputs {Outputs}", string.Join(", ", completed.Outputs.Keys));
                break;
            case StageRunFailed failed:
                await TryPublishAsync(failed, cancellationToken);
                _logger.LogWarning("Run failed ({Failure}): {Error}", failed.Retryable ? "retryable" : "permanent", failed.Error);
                break;
        }

        lock (_lock)
        {
            entry.IsFinished = true;
            _finished.Enqueue(entry.Run.RunId);
            while (_finished.Count > FinishedRunsRemembered)
            {
                _runs.Remove(_finished.Dequeue());
            }
        }
    }

    /// <summary>Hands the freed slot to the oldest queued run that was not stopped meanwhile.</summary>
    private void ReleaseSlot()
    {
        lock (_lock)
        {
            while (_waiting.TryDequeue(out var next))
            {
                // A run stopped while queued had its slot wait cancelled under this lock, so this fails for it.
                if (next.SlotGranted.TrySetResult())
                {
                    return;
                }
            }

            _busySlots--;
        }
    }

    /// <summary>Records why the run stops; true when this is the first stop asked of an active run. Caller holds the lock.</summary>
    private static bool MarkStopLocked(RunEntry entry, RunStop stop)
    {
        if (entry.IsFinished || entry.Stop is not null)
        {
            return false;
        }

        entry.Stop = stop;
        entry.SlotGranted.TrySetCanceled();
        return true;
    }

    /// <summary>
    /// The watchdog found the run without progress for <see cref="WorkerOptions.ProgressTimeout"/>: reports it failed and
    /// retryable from its last checkpoint at once (a hung run would not reach a step boundary to save another), then aborts
    /// whatever it still waits on (reports, commits, and what observes <see cref="StageRunContext.Aborted"/>) and cancels it.
    /// </summary>
    private void OnStalled(RunEntry entry)
    {
        var stop = RunStop.Stalled(_watchdog.Timeout);
        lock (_lock)
        {
            if (!MarkStopLocked(entry, stop))
            {
                return;
            }
        }

        _metrics.RecordWatchdogAbort(entry.Run.Kind);
        _ = Task.Run(async () =>
        {
            using var scope = BeginRunScope(entry.Run);
            _logger.LogWarning("The run made no progress for {ProgressTimeout} (Worker:ProgressTimeout); failing it as retryable", _watchdog.Timeout);
            await FinishAsync(entry, RunExecutor.Failure(entry.Run, stop, entry.LastCheckpoint), CancellationToken.None);
            await entry.Abort.CancelAsync();
            await entry.Cancellation.CancelAsync();
        }, CancellationToken.None);
    }

    /// <summary>Cancels the runner's token, and after the drain timeout whatever the stopping run still does.</summary>
    private void SignalStop(RunEntry entry)
    {
        ArmAbortTimer(entry);
        entry.Cancellation.Cancel();
    }

    private void ArmAbortTimer(RunEntry entry) =>
        entry.AbortTimer = _timeProvider.CreateTimer(
            static state => ((RunEntry)state!).Abort.Cancel(), entry, _options.DrainTimeout, Timeout.InfiniteTimeSpan);

    private async Task<bool> TryPublishAsync<T>(T message, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            await _publisher.PublishAsync(message, cancellationToken);
            return true;
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _logger.LogError(exception, "{Report} could not be published and is lost", typeof(T).Name);
            return false;
        }
    }

    private IDisposable? BeginRunScope(IStageRunMessage run) => _logger.BeginScope(RunScope(run));

    /// <summary>The ids every log line of a run carries.</summary>
    private static RunLogScope RunScope(IStageRunMessage run) => RunTelemetry.Scope(run);
}
