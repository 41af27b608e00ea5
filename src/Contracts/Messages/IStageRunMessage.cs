namespace Orchestrator.Contracts.Messages;

/// <summary>Every message about a stage run carries its ids, so logs and traces tie it to the run.</summary>
public interface IStageRunMessage
{
    string RunId { get; }
    string ExperimentId { get; }
    string StageId { get; }
}
