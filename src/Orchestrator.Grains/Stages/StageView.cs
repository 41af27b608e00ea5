using Orchestrator.Grains.Artifacts;

namespace Orchestrator.Grains.Stages;

/// <summary>A stage as the API shows it.</summary>
[GenerateSerializer, Alias("StageView")]
public sealed record StageView
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required string Kind { get; init; }
    [Id(2)] public required StageStatus Status { get; init; }
    [Id(3)] public required List<string> Upstream { get; init; }
    [Id(4)] public required List<StageAttempt> Attempts { get; init; }
    [Id(5)] public required Dictionary<string, List<ArtifactRef>> Inputs { get; init; }
    [Id(6)] public required Dictionary<string, ArtifactRef> Outputs { get; init; }
    [Id(7)] public ProgressView? Progress { get; init; }
    [Id(8)] public required Dictionary<string, double> Metrics { get; init; }
    [Id(9)] public ArtifactRef? LastCheckpoint { get; init; }
    [Id(10)] public DateTimeOffset? RetryAt { get; init; }
    [Id(11)] public long StaleReports { get; init; }
    [Id(12)] public long DuplicateReports { get; init; }
    [Id(13)] public long Version { get; init; }

    /// <summary>When the status last changed.</summary>
    [Id(14)] public DateTimeOffset ChangedAt { get; init; }
}

/// <summary>Progress of the running attempt, with the ETA when it can be estimated.</summary>
[GenerateSerializer, Immutable, Alias("ProgressView")]
public sealed record ProgressView
{
    [Id(0)] public required long Step { get; init; }
    [Id(1)] public long? TotalSteps { get; init; }
    [Id(2)] public int? Epoch { get; init; }
    [Id(3)] public double? SamplesPerSecond { get; init; }
    [Id(4)] public double? EtaSeconds { get; init; }
    [Id(5)] public required DateTimeOffset UpdatedAt { get; init; }
}
