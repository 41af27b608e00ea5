namespace Orchestrator.Contracts.Messages;

/// <summary>A worker began a run.</summary>
public sealed record StageRunStarted : IStageRunMessage
{
    public required string RunId { get; init; }
    public required string ExperimentId { get; init; }
    public required string StageId { get; init; }
    public required string WorkerId { get; init; }
    public required int Rank { get; init; }
}
