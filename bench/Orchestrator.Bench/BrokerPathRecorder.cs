using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Orchestrator.Contracts.Messages;
using Orchestrator.Grains.Scheduling;
using Orchestrator.Grains.Specs;

namespace Orchestrator.Bench;

/// <summary>
/// Through a broker, what the scheduler's dispatch latency leaves out, timed on the one clock of the bench's process
/// (the silo and the simulated workers share it):
/// <list type="bullet">
/// <item><b>the whole path</b> a user waits on between two stages: a worker's <see cref="StageRunCompleted"/> taken by the
/// silo's report consumer (the consume observer's entry) → the next stage's <see cref="StartStageRun"/> confirmed by the
/// broker (the send observer's <c>PostSend</c>, which MassTransit calls once the publish is confirmed). A stage with
/// several upstream stages counts from the last of their reports, the one that made it ready; root stages, started by
/// a creation and not by a report, are not counted.</item>
/// <item><b>the broker leg</b>: the dispatcher's send of a <see cref="StartStageRun"/> (<c>PreSend</c>, just before the
/// publish) → the simulated worker's consumer entering its handler (<see cref="InstantRunConsumer"/>).</item>
/// </list>
/// </summary>
internal sealed class BrokerPathRecorder : ISendObserver, IConsumeObserver
{
    /// <summary>Each bench stage's upstream stages, from the spec the bench submits.</summary>
    private static readonly Dictionary<string, List<string>> Upstream =
        ExperimentDrafts.Prepare(BenchDag.Yaml, SpecFormat.Yaml, "exp-upstream").Draft!.Stages.ToDictionary(stage => stage.StageId, stage => stage.Upstream);

    private readonly ConcurrentDictionary<(string Experiment, string Stage), long> _reportConsumed = new();
    private readonly ConcurrentDictionary<string, long> _sent = new();
    private readonly ConcurrentDictionary<string, long> _handedOff = new();
    private readonly ConcurrentDictionary<string, long> _published = new();
    private readonly Lock _lock = new();
    private readonly List<double> _wholePathMs = [];
    private readonly List<double> _brokerLegMs = [];
    private readonly List<double> _reportToHandOffMs = [];
    private readonly List<double> _outboxMs = [];
    private readonly List<double> _confirmMs = [];

    public LatencyFigures WholePath => Figures(_wholePathMs);

    public LatencyFigures BrokerLeg => Figures(_brokerLegMs);

    /// <summary>The whole path's first part: report consumed → the next stage's run handed to the dispatcher (the grains).</summary>
    public LatencyFigures ReportToHandOff => Figures(_reportToHandOffMs);

    /// <summary>A start's wait in the dispatcher's outbox: hand-off → publish call.</summary>
    public LatencyFigures Outbox => Figures(_outboxMs);

    /// <summary>A start's publish call → the broker's confirm.</summary>
    public LatencyFigures Confirm => Figures(_confirmMs);

    /// <summary>Forgets what was recorded: the warm-up's figures are not the bench's.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _wholePathMs.Clear();
            _brokerLegMs.Clear();
            _reportToHandOffMs.Clear();
            _outboxMs.Clear();
            _confirmMs.Clear();
        }
    }

    /// <summary>The simulated worker's consumer entered its handler for <paramref name="run"/>.</summary>
    public void HandlerEntered(StartStageRun run)
    {
        var now = Stopwatch.GetTimestamp();
        if (_sent.TryRemove(SendKey(run), out var sent))
        {
            Add(_brokerLegMs, sent, now);
        }
    }

    /// <summary>The scheduler handed the run's start for <paramref name="rank"/> to the dispatcher.</summary>
    public void HandedOff(string experimentId, string stageId, string runId, int rank)
    {
        var now = Stopwatch.GetTimestamp();
        _handedOff[SendKey(runId, rank)] = now;
        if (ReadyAt(experimentId, stageId) is { } ready)
        {
            Add(_reportToHandOffMs, ready, now);
        }
    }

    public Task PreSend<T>(SendContext<T> context)
        where T : class
    {
        if (context.Message is StartStageRun run)
        {
            var now = Stopwatch.GetTimestamp();
            var key = SendKey(run);
            _sent[key] = now;
            _published[key] = now;
            if (_handedOff.TryRemove(key, out var handedOff))
            {
                Add(_outboxMs, handedOff, now);
            }
        }

        return Task.CompletedTask;
    }

    public Task PostSend<T>(SendContext<T> context)
        where T : class
    {
        if (context.Message is StartStageRun run)
        {
            var now = Stopwatch.GetTimestamp();
            if (_published.TryRemove(SendKey(run), out var published))
            {
                Add(_confirmMs, published, now);
            }

            if (ReadyAt(run.ExperimentId, run.StageId) is { } ready)
            {
                Add(_wholePathMs, ready, now);
            }
        }

        return Task.CompletedTask;
    }

    public Task SendFault<T>(SendContext<T> context, Exception exception)
        where T : class => Task.CompletedTask;

    public Task PreConsume<T>(ConsumeContext<T> context)
        where T : class
    {
        if (context.Message is StageRunCompleted report)
        {
            // The first time only: a redelivered report did not make anything ready again.
            _reportConsumed.TryAdd((report.ExperimentId, report.StageId), Stopwatch.GetTimestamp());
        }

        return Task.CompletedTask;
    }

    public Task PostConsume<T>(ConsumeContext<T> context)
        where T : class => Task.CompletedTask;

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception)
        where T : class => Task.CompletedTask;

    private static string SendKey(StartStageRun run) => SendKey(run.RunId, run.Rank);

    private static string SendKey(string runId, int rank) => $"{runId}/{rank}";

    /// <summary>When the last report a stage waited for was consumed; null for a root stage (started by its creation).</summary>
    private long? ReadyAt(string experimentId, string stageId)
    {
        if (!Upstream.TryGetValue(stageId, out var upstream))
        {
            return null;
        }

        long? ready = null;
        foreach (var stage in upstream)
        {
            if (_reportConsumed.TryGetValue((experimentId, stage), out var consumed))
            {
                ready = Math.Max(ready ?? consumed, consumed);
            }
        }

        return ready;
    }

    private void Add(List<double> into, long from, long to)
    {
        var ms = Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
        lock (_lock)
        {
            into.Add(ms);
        }
    }

    private LatencyFigures Figures(List<double> samples)
    {
        lock (_lock)
        {
            return LatencyFigures.Of(samples);
        }
    }
}

/// <summary>Count, p50, p99 and max of a set of latencies in milliseconds (nearest rank); NaN percentiles when empty.</summary>
internal sealed record LatencyFigures(int Count, double P50Ms, double P99Ms, double MaxMs)
{
    public static LatencyFigures Of(IEnumerable<double> milliseconds)
    {
        var sorted = milliseconds.Order().ToList();
        return new LatencyFigures(sorted.Count, At(sorted, 50), At(sorted, 99), At(sorted, 100));
    }

    private static double At(List<double> sorted, double percentile) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(percentile / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
}

/// <summary>The dispatcher the silo uses, with each start's hand-off timed for <see cref="BrokerPathRecorder"/>.</summary>
internal sealed class HandOffTimingDispatcher(IStageRunDispatcher inner, BrokerPathRecorder paths) : IStageRunDispatcher
{
    public Task StartAsync(RunAssignment assignment, CancellationToken cancellationToken = default)
    {
        var run = assignment.Run;
        for (var rank = 0; rank < assignment.WorkerIds.Count; rank++)
        {
            paths.HandedOff(run.ExperimentId, run.StageId, run.RunId, rank);
        }

        return inner.StartAsync(assignment, cancellationToken);
    }

    public Task CancelAsync(RunAssignment assignment, IReadOnlyList<string> workerIds, string reason, CancellationToken cancellationToken = default) =>
        inner.CancelAsync(assignment, workerIds, reason, cancellationToken);
}
