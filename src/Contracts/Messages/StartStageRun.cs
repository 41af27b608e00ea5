namespace Orchestrator.Contracts.Messages;

/// <summary>Command to a worker's own queue: run this attempt of a stage (as one rank of its gang).</summary>
public sealed record StartStageRun : IStageRunMessage
{
    public required string RunId { get; init; }
    public required int Attempt { get; init; }
    public required string ExperimentId { get; init; }
    public required string StageId { get; init; }
    public required string Kind { get; init; }

    /// <summary>Every option of the kind, defaults and preset applied, as a JSON object with snake_case keys.</summary>
    public required string OptionsJson { get; init; }

    /// <summary>Input name to the artifacts bound to it.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<ArtifactReference>> Inputs { get; init; }

    /// <summary>The checkpoint to resume from; null starts fresh.</summary>
    public ArtifactReference? ResumeFrom { get; init; }

    public required int WorldSize { get; init; }
    public required int Rank { get; init; }
    public required GangRendezvous Rendezvous { get; init; }
}
