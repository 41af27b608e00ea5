using Orchestrator.Contracts.Messages;

namespace Orchestrator.Contracts.Telemetry;

/// <summary>
/// The names both planes give a run's ids in log scopes and on trace activities, so one query finds a run's
/// lines and spans on the orchestrator and on its workers alike.
/// </summary>
public static class RunTelemetry
{
    /// <summary>The log scope property and activity tag of the experiment id.</summary>
    public const string ExperimentId = "ExperimentId";

    /// <summary>The log scope property and activity tag of the stage id.</summary>
    public const string StageId = "StageId";

    /// <summary>The log scope property and activity tag of the run id (one per attempt).</summary>
    public const string RunId = "RunId";

    /// <summary>The activity tag of the attempt number.</summary>
    public const string Attempt = "Attempt";

    /// <summary>The activity tag of the stage kind.</summary>
    public const string StageKind = "StageKind";

    /// <summary>The scope state every log line about a run is written under.</summary>
    public static RunLogScope Scope(string experimentId, string stageId, string runId) => new(
        [new(ExperimentId, experimentId), new(StageId, stageId), new(RunId, runId)],
        $"run {runId} of {experimentId}/{stageId}");

    /// <summary>The scope state of a message about a run.</summary>
    public static RunLogScope Scope(IStageRunMessage run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return Scope(run.ExperimentId, run.StageId, run.RunId);
    }

    /// <summary>The scope state of a line about a whole experiment.</summary>
    public static RunLogScope Scope(string experimentId) => new([new(ExperimentId, experimentId)], $"experiment {experimentId}");
}
