using System.Diagnostics;
using Orchestrator.Contracts.Messages;
using Orchestrator.Contracts.Telemetry;

namespace Trainer.Worker.Telemetry;

/// <summary>
/// The worker's activity source. A run's activity spans the run on this worker, from its acceptance (a queued
/// run waits for its slot inside it) to its final report, as a child of the consume activity of its StartStageRun, so it continues the trace the
/// orchestrator started when it dispatched the run; the reports published inside it carry that trace back.
/// </summary>
public static class WorkerTracing
{
    public const string SourceName = "Trainer.Worker";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts the run's activity under the current one.</summary>
    public static Activity? StartRun(StartStageRun run, string workerId)
    {
        ArgumentNullException.ThrowIfNull(run);
        var activity = Source.StartActivity(ActivityKind.Internal, default,
        [
            new(RunTelemetry.ExperimentId, run.ExperimentId),
            new(RunTelemetry.StageId, run.StageId),
            new(RunTelemetry.RunId, run.RunId),
            new(RunTelemetry.Attempt, run.Attempt),
            new(RunTelemetry.StageKind, run.Kind),
        ], name: $"run {run.StageId}");
        activity?.SetTag("WorkerId", workerId);
        activity?.SetTag("Rank", run.Rank);
        return activity;
    }
}
