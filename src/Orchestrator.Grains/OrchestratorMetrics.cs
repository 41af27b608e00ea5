using System.Diagnostics.Metrics;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Stages;

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

    /// <summary>
    /// From the first queued run of a stage (since it was last queued from Pending) to its end, tagged by kind and
    /// the final status (Succeeded, Failed, Cancelled). Buckets run from a second to a week: dataset stages take
    /// seconds, pretraining takes days.
    /// </summary>
    public static readonly Histogram<double> StageDuration =
        Meter.CreateHistogram<double>("orchestrator.stage.duration", "s", "From a stage's first queued run to its end.",
            advice: new InstrumentAdvice<double>
            {
                HistogramBucketBoundaries = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800],
            });

    public static readonly Counter<long> WorkersRegistered =
        Meter.CreateCounter<long>("orchestrator.workers.registered", "{worker}", "Workers that registered.");

    public static readonly Counter<long> WorkersLost =
        Meter.CreateCounter<long>("orchestrator.workers.lost", "{worker}", "Workers declared lost after their heartbeats stopped.");

    public static readonly Counter<long> TransportOutages =
        Meter.CreateCounter<long>("orchestrator.transport.outages", "{outage}", "Times heartbeats could not arrive (the broker was unreachable); nobody is declared lost meanwhile.");

    public static readonly Counter<long> ReportsIgnored =
        Meter.CreateCounter<long>("orchestrator.reports.ignored", "{report}", "Stale or duplicate reports that changed nothing, tagged by reason.");

    public static readonly Counter<long> Retries =
        Meter.CreateCounter<long>("orchestrator.stage.retries", "{retry}", "Stage runs retried after a retryable failure.");

    /// <summary>
    /// Generations of data-parallel gangs placed (runs of more than one worker), tagged by kind and <c>start</c>:
    /// <c>first</c> for a stage's first attempt, <c>restart</c> for a later one (the whole gang again, after a failure).
    /// </summary>
    public static readonly Counter<long> GangGenerations =
        Meter.CreateCounter<long>("orchestrator.gang.generations", "{generation}", "Gang generations placed on their workers, first or restart.");

    /// <summary>
    /// One-way messages sent again because their receiver had not acknowledged them in time, tagged by <c>message</c>
    /// (<c>stage-changed</c>, <c>run-lost</c>, <c>catch-up</c>): each is one that was lost, or one whose receiver was slow.
    /// </summary>
    public static readonly Counter<long> MessagesResent =
        Meter.CreateCounter<long>("orchestrator.messages.resent", "{message}", "One-way messages sent again because they were not acknowledged in time.");

    private static int _queueDepth;
    private static IReadOnlyDictionary<ExperimentStatus, int>? _experiments;

    /// <summary>Runs waiting for workers, as last seen by the scheduler.</summary>
    public static int QueueDepth
    {
        get => Volatile.Read(ref _queueDepth);
        set => Volatile.Write(ref _queueDepth, value);
    }

    /// <summary>
    /// Experiments by status as the experiment index last counted them; null (nothing exported) until the silo
    /// has read the index once.
    /// </summary>
    public static IReadOnlyDictionary<ExperimentStatus, int>? Experiments
    {
        get => Volatile.Read(ref _experiments);
        set => Volatile.Write(ref _experiments, value);
    }

    static OrchestratorMetrics()
    {
        Meter.CreateObservableGauge("orchestrator.queue.depth", () => QueueDepth, "{run}", "Runs waiting for workers.");
        Meter.CreateObservableGauge("orchestrator.experiments", ObserveExperiments, "{experiment}", "Experiments by status, from the experiment index.");
    }

    /// <summary>
    /// Gives every counter its series at zero for each label value it can take, so a rate over a counter that has
    /// not moved yet is 0 rather than missing, and the first increment is counted. Call once the exporter listens.
    /// </summary>
    public static void PublishZeros()
    {
        WorkersRegistered.Add(0);
        WorkersLost.Add(0);
        TransportOutages.Add(0);
        foreach (var message in new[] { ResentMessage.StageChanged, ResentMessage.RunLost, ResentMessage.CatchUp })
        {
            MessagesResent.Add(0, new KeyValuePair<string, object?>("message", message));
        }

        foreach (var reason in new[] { "stale", "duplicate", "superseded" })
        {
            ReportsIgnored.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }

        foreach (var kind in StageKindCatalog.All)
        {
            Retries.Add(0, new KeyValuePair<string, object?>("kind", kind.Name));
            if (kind.TrainsAsGang)
            {
                foreach (var start in new[] { GangStart.First, GangStart.Restart })
                {
                    GangGenerations.Add(0, new KeyValuePair<string, object?>("kind", kind.Name), new KeyValuePair<string, object?>("start", start));
                }
            }

            foreach (var status in Enum.GetValues<StageStatus>())
            {
                StageTransitions.Add(0, new KeyValuePair<string, object?>("kind", kind.Name), new KeyValuePair<string, object?>("status", status.ToString()));
            }
        }
    }

    /// <summary>Counts a gang placed for the <paramref name="attempt"/>-th attempt of a stage of <paramref name="kind"/>.</summary>
    public static void RecordGangGeneration(string kind, int attempt) =>
        GangGenerations.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("start", attempt > 1 ? GangStart.Restart : GangStart.First));

    private static IEnumerable<Measurement<int>> ObserveExperiments() =>
        Experiments is { } counts
            ? Enum.GetValues<ExperimentStatus>().Select(status =>
                new Measurement<int>(counts.GetValueOrDefault(status), new KeyValuePair<string, object?>("status", status.ToString())))
            : [];

    /// <summary>Counts a one-way message sent again (<see cref="ResentMessage"/>).</summary>
    public static void RecordResent(string message) => MessagesResent.Add(1, new KeyValuePair<string, object?>("message", message));

    /// <summary>The values of <see cref="MessagesResent"/>' <c>message</c> tag.</summary>
    public static class ResentMessage
    {
        public const string StageChanged = "stage-changed";
        public const string RunLost = "run-lost";
        public const string CatchUp = "catch-up";
    }

    /// <summary>The values of <see cref="GangGenerations"/>' <c>start</c> tag.</summary>
    private static class GangStart
    {
        public const string First = "first";
        public const string Restart = "restart";
    }
}
