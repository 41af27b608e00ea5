namespace Orchestrator.Contracts.Messages;

/// <summary>Command to a worker: stop the run, save a checkpoint, report it failed (cancelled).</summary>
public sealed record CancelStageRun : IStageRunMessage
{
    public required string RunId { get; init; }
    public required string ExperimentId { get; init; }
    public required string StageId { get; init; }
    public required string Reason { get; init; }
}
