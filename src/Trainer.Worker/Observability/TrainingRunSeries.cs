using System.Collections.Immutable;
using System.Globalization;
using Orchestrator.Contracts.Messages;
using VisionLanguage.Training;

namespace Trainer.Worker.Observability;

/// <summary>
/// One run's latest training values, as the worker exports them until the run ends (<see cref="Dispose"/>).
/// Values the runner never reported are not exported: a dataset run has a step but no loss.
/// </summary>
public sealed class TrainingRunSeries : IDisposable
{
    private readonly WorkerMetrics _metrics;
    private readonly string _kind;
    private volatile Snapshot _latest = new(null, ImmutableDictionary<string, double>.Empty, null, null, null, null, null, null, null, null);
    private long _rendezvousTicks = -1; // none yet

    internal TrainingRunSeries(StartStageRun run, WorkerMetrics metrics)
    {
        _metrics = metrics;
        _kind = run.Kind;
        Tags =
        [
            new("experiment", run.ExperimentId),
            new("stage", run.StageId),
            new("kind", run.Kind),
            new("rank", run.Rank.ToString(CultureInfo.InvariantCulture)),
        ];
    }

    internal KeyValuePair<string, object?>[] Tags { get; }

    internal double? Step => _latest.Step;

    internal IReadOnlyDictionary<string, double> Losses => _latest.Losses;

    internal double? LearningRate => _latest.LearningRate;

    internal double? Temperature => _latest.Temperature;

    internal double? TrainableShare => _latest.TrainableShare;

    internal double? GenerationTokensPerSecond => _latest.GenerationTokensPerSecond;

    internal double? SamplesPerSecond => _latest.SamplesPerSecond;

    internal double? StepSeconds => _latest.StepSeconds;

    internal double? DataWaitShare => _latest.DataWaitShare;

    internal double? AllReduceShare => _latest.AllReduceShare;

    /// <summary>How long this rank waited to join its gang; null for a run of one worker.</summary>
    internal double? RendezvousSeconds => Interlocked.Read(ref _rendezvousTicks) is var ticks and >= 0 ? TimeSpan.FromTicks(ticks).TotalSeconds : null;

    /// <summary>Takes a progress report's values; metric names are those of <see cref="ProgressMetricKeys"/>.</summary>
    public void Record(long step, IReadOnlyDictionary<string, double>? metrics, double? samplesPerSecond)
    {
        metrics ??= ImmutableDictionary<string, double>.Empty;
        var losses = ImmutableDictionary.CreateBuilder<string, double>(StringComparer.Ordinal);
        foreach (var (name, value) in metrics)
        {
            if (name == ProgressMetricKeys.Loss)
            {
                losses["total"] = value;
            }
            else if (name.StartsWith(ProgressMetricKeys.LossPrefix, StringComparison.Ordinal) && name.Length > ProgressMetricKeys.LossPrefix.Length)
            {
                losses[name[ProgressMetricKeys.LossPrefix.Length..]] = value;
            }
        }

        _latest = new Snapshot(
            step,
            losses.ToImmutable(),
            Value(metrics, ProgressMetricKeys.LearningRate),
            samplesPerSecond ?? Value(metrics, ProgressMetricKeys.SamplesPerSecond),
            Value(metrics, ProgressMetricKeys.StepSeconds),
            Value(metrics, ProgressMetricKeys.DataWaitShare),
            Value(metrics, ProgressMetricKeys.Temperature),
            Value(metrics, ProgressMetricKeys.TrainableShare),
            Value(metrics, ProgressMetricKeys.GenerationTokensPerSecond),
            Value(metrics, ProgressMetricKeys.AllReduceShare));
    }

    /// <summary>The run's rank joined its gang after waiting <paramref name="wait"/> for the others.</summary>
    public void RecordRendezvous(TimeSpan wait) => Interlocked.Exchange(ref _rendezvousTicks, wait.Ticks);

    /// <summary>A checkpoint of <paramref name="bytes"/> was committed in <paramref name="duration"/>.</summary>
    public void RecordCheckpoint(TimeSpan duration, long bytes) => _metrics.RecordCheckpoint(_kind, duration, bytes);

    /// <summary>The run looked up its cache <paramref name="cache"/> and found it (<paramref name="hit"/>) or not.</summary>
    public void RecordCacheLookup(string cache, bool hit) => _metrics.RecordCacheLookup(_kind, cache, hit);

    public void Dispose() => _metrics.EndRun(this);

    private static double? Value(IReadOnlyDictionary<string, double> metrics, string name) =>
        metrics.TryGetValue(name, out var value) ? value : null;

    private sealed record Snapshot(
        double? Step,
        ImmutableDictionary<string, double> Losses,
        double? LearningRate,
        double? SamplesPerSecond,
        double? StepSeconds,
        double? DataWaitShare,
        double? Temperature,
        double? TrainableShare,
        double? GenerationTokensPerSecond,
        double? AllReduceShare);
}
