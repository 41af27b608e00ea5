namespace Orchestrator.Contracts.Messages;

/// <summary>A run committed a checkpoint to the artifact store; retries resume from it.</summary>
public sealed record CheckpointSaved : IStageRunMessage
{
    public required string RunId { get; init; }
    public required string ExperimentId { get; init; }
    public required string StageId { get; init; }
    public required ArtifactReference Checkpoint { get; init; }
    public required long Step { get; init; }

    /// <summary>SHA-256 of the checkpoint's manifest, hex.</summary>
    public required string Sha256 { get; init; }
}
