namespace Orchestrator.Contracts.Messages;

/// <summary>A run finished: its outputs by name, and its final metrics.</summary>
public sealed record StageRunCompleted : IStageRunMessage
{
    public required string RunId { get; init; }
    public required string ExperimentId { get; init; }
    public required string StageId { get; init; }
    public required IReadOnlyDictionary<string, ArtifactReference> Outputs { get; init; }
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>The reporting rank of a gang: only rank 0's completion carries outputs and completes the run; the others only say they finished.</summary>
    public int Rank { get; init; }
}
