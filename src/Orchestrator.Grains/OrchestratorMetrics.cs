using System.Diagnostics.Metrics;

namespace Orchestrator.Grains;

/// <summary>
/// The orchestrator's instruments. The silo exports them to Prometheus; the benchmark reads them with a
/// <see cref="MeterListener"/>, so what it measures is what production reports.
/// </summary>
public static class OrchestratorMetrics
{
    public const string MeterName = "Orchestrator";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Stage status changes, tagged by kind and the new status.</summary>
    public static readonly Counter<long> StageTransitions =
        Meter.CreateCounter<long>("orchestrator.stage.transitions", "{transition}", "Stage status changes.");

    /// <summary>From a run becoming ready (its last input available, or its backoff over) to its hand-off to the dispatcher.</summary>
    public static readonly Histogram<double> DispatchLatency =
        Meter.CreateHistogram<double>("orchestrator.dispatch.latency", "s", "From a run becoming ready to its hand-off to the dispatcher.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    public static readonly Counter<long> WorkersRegistered =
        Meter.CreateCounter<long>("orchestrator.workers.registered", "{worker}", "Workers that registered.");

    public static readonly Counter<long> WorkersLost =
        Meter.CreateCounter<long>("orchestrator.workers.lost", "{worker}", "Workers declared lost after their heartbeats stopped.");

    public static readonly Counter<long> ReportsIgnored =
        Meter.CreateCounter<long>("orchestrator.reports.ignored", "{report}", "Stale or duplicate reports that changed nothing, tagged by reason.");

    public static readonly Counter<long> Retries =
        Meter.CreateCounter<long>("orchestrator.stage.retries", "{retry}", "Stage runs retried after a retryable failure.");

    private static int _queueDepth;

    /// <summary>Runs waiting for workers, as last seen by the scheduler.</summary>
    public static int QueueDepth
    {
        get => Volatile.Read(ref _queueDepth);
        set => Volatile.Write(ref _queueDepth, value);
    }

    static OrchestratorMetrics()
    {
        Meter.CreateObservableGauge("orchestrator.queue.depth", () => QueueDepth, "{run}", "Runs waiting for workers.");
    }
}
