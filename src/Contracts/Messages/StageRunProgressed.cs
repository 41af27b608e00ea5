namespace Orchestrator.Contracts.Messages;

/// <summary>A run advanced: its step, and the latest value of each metric (losses, learning rate, ...).</summary>
public sealed record StageRunProgressed : IStageRunMessage
{
    public required string RunId { get; init; }
    public required string ExperimentId { get; init; }
    public required string StageId { get; init; }
    public required long Step { get; init; }
    public long? TotalSteps { get; init; }
    public int? Epoch { get; init; }
    public double? SamplesPerSecond { get; init; }
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}
