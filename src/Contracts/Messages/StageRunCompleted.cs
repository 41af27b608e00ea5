namespace Orchestrator.Contracts.Messages;

/// <summary>A run finished: its outputs by name, and its final metrics.</summary>
public sealed record StageRunCompleted : IStageRunMessage
{
    public required string RunId { get; init; }
    public required string ExperimentId { get; init; }
    public required string StageId { get; init; }
    public required IReadOnlyDictionary<string, ArtifactReference> Outputs { get; init; }
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}
