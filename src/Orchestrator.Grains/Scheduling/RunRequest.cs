using Orchestrator.Grains.Artifacts;

namespace Orchestrator.Grains.Scheduling;

/// <summary>A stage run waiting for workers: everything a worker needs to start it, without the workers.</summary>
[GenerateSerializer, Immutable, Alias("RunRequest")]
public sealed record RunRequest
{
    /// <summary>Unique per attempt; reports carrying another run id are stale.</summary>
    [Id(0)] public required string RunId { get; init; }

    [Id(1)] public required int Attempt { get; init; }
    [Id(2)] public required string ExperimentId { get; init; }
    [Id(3)] public required string StageId { get; init; }
    [Id(4)] public required string Kind { get; init; }
    [Id(5)] public required string OptionsJson { get; init; }
    [Id(6)] public required Dictionary<string, List<ArtifactRef>> Inputs { get; init; }

    /// <summary>The checkpoint to resume from, or null to start fresh.</summary>
    [Id(7)] public ArtifactRef? ResumeFrom { get; init; }

    [Id(8)] public required ResourceNeeds Resources { get; init; }
    [Id(9)] public int Priority { get; init; }

    /// <summary>When the run became ready: its last input became available, or its retry backoff ended.</summary>
    [Id(10)] public required DateTimeOffset ReadyAt { get; init; }

    /// <summary>The W3C trace context of the experiment's submission: the run's own trace links to it.</summary>
    [Id(11)] public string? SubmissionTrace { get; init; }
}

/// <summary>A run handed to its workers: rank i runs on <c>WorkerIds[i]</c>.</summary>
[GenerateSerializer, Immutable, Alias("RunAssignment")]
public sealed record RunAssignment
{
    [Id(0)] public required RunRequest Run { get; init; }
    [Id(1)] public required List<string> WorkerIds { get; init; }
    [Id(2)] public required DateTimeOffset AssignedAt { get; init; }
}
