using Orchestrator.Grains.Artifacts;
using Orchestrator.Grains.Events;

namespace Orchestrator.Grains.Stages;

/// <summary>A worker began the run.</summary>
[GenerateSerializer, Immutable, Alias("RunStartedReport")]
public sealed record RunStartedReport([property: Id(0)] string RunId, [property: Id(1)] string WorkerId);

/// <summary>The run advanced.</summary>
[GenerateSerializer, Immutable, Alias("RunProgressReport")]
public sealed record RunProgressReport
{
    [Id(0)] public required string RunId { get; init; }
    [Id(1)] public required long Step { get; init; }
    [Id(2)] public long? TotalSteps { get; init; }
    [Id(3)] public int? Epoch { get; init; }
    [Id(4)] public double? SamplesPerSecond { get; init; }
    [Id(5)] public Dictionary<string, double> Metrics { get; init; } = [];
}

/// <summary>The run wrote a checkpoint.</summary>
[GenerateSerializer, Immutable, Alias("RunCheckpointReport")]
public sealed record RunCheckpointReport([property: Id(0)] string RunId, [property: Id(1)] ArtifactRef Checkpoint);

/// <summary>The run finished and produced its outputs.</summary>
[GenerateSerializer, Immutable, Alias("RunCompletedReport")]
public sealed record RunCompletedReport
{
    [Id(0)] public required string RunId { get; init; }
    [Id(1)] public required Dictionary<string, ArtifactRef> Outputs { get; init; }
    [Id(2)] public Dictionary<string, double> Metrics { get; init; } = [];

    /// <summary>The gang rank that finished: only rank 0's completion completes the run.</summary>
    [Id(3)] public int Rank { get; init; }
}

/// <summary>The run failed; a retryable failure is tried again from the last checkpoint.</summary>
[GenerateSerializer, Immutable, Alias("RunFailedReport")]
public sealed record RunFailedReport
{
    [Id(0)] public required string RunId { get; init; }
    [Id(1)] public required string Error { get; init; }
    [Id(2)] public required bool Retryable { get; init; }
    [Id(3)] public ArtifactRef? LastCheckpoint { get; init; }
}

/// <summary>What a report did: changed the stage, or nothing because it was stale or a repeat.</summary>
[GenerateSerializer, Alias("ReportOutcome")]
public enum ReportOutcome
{
    Applied,

    /// <summary>It carried a run id other than the stage's current run (fencing).</summary>
    Stale,

    /// <summary>Its content had already been applied.</summary>
    Duplicate,

    /// <summary>A checkpoint older than one already recorded for the run (reports can arrive out of order).</summary>
    Superseded,

    /// <summary>A gang rank other than 0 finished; rank 0's completion, with the outputs, completes the run.</summary>
    RankFinished,
}

/// <summary>
/// What a stage tells its experiment when its status changes, with the live event for it: the experiment
/// publishes the event when it learns of the change, so readers see events in the order the experiment learned them.
/// </summary>
[GenerateSerializer, Immutable, Alias("StageChange")]
public sealed record StageChange
{
    [Id(0)] public required string StageId { get; init; }
    [Id(1)] public required StageStatus Status { get; init; }
    [Id(2)] public Dictionary<string, ArtifactRef> Outputs { get; init; } = [];
    [Id(3)] public required long Version { get; init; }
    [Id(4)] public required DateTimeOffset At { get; init; }
    [Id(5)] public required ExperimentEvent Event { get; init; }
}
