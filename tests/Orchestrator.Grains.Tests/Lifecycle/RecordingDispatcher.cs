using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Grains.Tests.Lifecycle;

/// <summary>Test double of the transport: records what the scheduler hands out and lets tests await it.</summary>
public sealed class RecordingDispatcher : IStageRunDispatcher
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(15);

    private readonly Lock _lock = new();
    private readonly List<RunAssignment> _started = [];
    private readonly List<CancelledRun> _cancelled = [];
    private readonly List<(Func<RunAssignment, bool> Match, TaskCompletionSource<RunAssignment> Signal)> _waiters = [];

    public Task StartAsync(RunAssignment assignment, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            _started.Add(assignment);
            foreach (var waiter in _waiters.Where(waiter => waiter.Match(assignment)).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Signal.TrySetResult(assignment);
            }
        }

        return Task.CompletedTask;
    }

    public Task CancelAsync(RunAssignment assignment, IReadOnlyList<string> workerIds, string reason, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            _cancelled.Add(new CancelledRun(assignment.Run.RunId, [.. workerIds], reason));
        }

        return Task.CompletedTask;
    }

    /// <summary>The assignment of that attempt of the stage, as soon as the scheduler hands it out.</summary>
    public Task<RunAssignment> WaitForStartAsync(string experimentId, string stageId, int attempt = 1)
    {
        bool Match(RunAssignment a) => a.Run.ExperimentId == experimentId && a.Run.StageId == stageId && a.Run.Attempt == attempt;
        lock (_lock)
        {
            if (_started.FirstOrDefault(Match) is { } done)
            {
                return Task.FromResult(done);
            }

            var signal = new TaskCompletionSource<RunAssignment>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((Match, signal));
            return signal.Task.WaitAsync(WaitLimit);
        }
    }

    public IReadOnlyList<RunAssignment> StartedFor(string experimentId)
    {
        lock (_lock)
        {
            return [.. _started.Where(assignment => assignment.Run.ExperimentId == experimentId)];
        }
    }

    public IReadOnlyList<CancelledRun> Cancelled(string runId)
    {
        lock (_lock)
        {
            return [.. _cancelled.Where(cancel => cancel.RunId == runId)];
        }
    }
}

public sealed record CancelledRun(string RunId, List<string> WorkerIds, string Reason);
