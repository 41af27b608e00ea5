namespace Orchestrator.Contracts.Messages;

/// <summary>A run failed. A retryable failure is tried again from <see cref="LastCheckpoint"/>; a permanent one fails the stage.</summary>
public sealed record StageRunFailed : IStageRunMessage
{
    public required string RunId { get; init; }
    public required string ExperimentId { get; init; }
    public required string StageId { get; init; }
    public required string Error { get; init; }
    public required bool Retryable { get; init; }
    public ArtifactReference? LastCheckpoint { get; init; }
}
