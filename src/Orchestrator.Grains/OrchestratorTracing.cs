using System.Diagnostics;
using Orchestrator.Contracts.Telemetry;
using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Grains;

/// <summary>
/// The orchestrator's activity source. A stage run is one trace: it starts when the scheduler dispatches the
/// run (<see cref="StartRun"/>), links to the experiment's submission, and continues over the message headers
/// on the worker and back in the report consumers (see docs/decisions/logs-and-traces.md).
/// </summary>
public static class OrchestratorTracing
{
    public const string SourceName = "Orchestrator";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// Starts the root activity of a run's trace, whatever activity is current (the dispatch happens inside
    /// whichever call freed a slot or queued the run: a heartbeat, another run's report). Callers run it in an
    /// async method of its own, so that clearing <see cref="Activity.Current"/> does not reach their own flow.
    /// </summary>
    public static Activity? StartRun(RunRequest run)
    {
        ArgumentNullException.ThrowIfNull(run);
        Activity.Current = null;
        ActivityLink[]? links = ActivityContext.TryParse(run.SubmissionTrace, null, out var submission) ? [new ActivityLink(submission)] : null;
        var activity = Source.StartActivity(ActivityKind.Producer, default, Tags(run.ExperimentId, run.StageId, run.RunId), links, name: $"run {run.StageId}");
        activity?.SetTag(RunTelemetry.Attempt, run.Attempt);
        activity?.SetTag(RunTelemetry.StageKind, run.Kind);
        return activity;
    }

    /// <summary>
    /// Starts the activity of sending one of a run's messages (<paramref name="message"/> is its type's name) from the
    /// dispatcher's outbox, as a child of the run's dispatch (<paramref name="dispatch"/>), which has ended by then.
    /// </summary>
    public static Activity? StartSend(string message, ActivityContext dispatch, RunRequest run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return Source.StartActivity(ActivityKind.Producer, dispatch, Tags(run.ExperimentId, run.StageId, run.RunId), name: $"send {message}");
    }

    /// <summary>Starts the activity of handling a report of a run, as a child of the current (consume) activity.</summary>
    public static Activity? StartReport(string report, string experimentId, string stageId, string runId) =>
        Source.StartActivity(ActivityKind.Consumer, default, Tags(experimentId, stageId, runId), name: $"report {report}");

    private static KeyValuePair<string, object?>[] Tags(string experimentId, string stageId, string runId) =>
    [
        new(RunTelemetry.ExperimentId, experimentId),
        new(RunTelemetry.StageId, stageId),
        new(RunTelemetry.RunId, runId),
    ];
}
