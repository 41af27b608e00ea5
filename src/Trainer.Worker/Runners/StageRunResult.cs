using Orchestrator.Contracts.Messages;

namespace Trainer.Worker.Runners;

/// <summary>What a finished run produced: its committed outputs by output name, and its final metrics.</summary>
public sealed record StageRunResult
{
    /// <summary>Each output, as returned by <see cref="StageRunContext.CommitOutputAsync"/>; names are the kind's output names.</summary>
    public required IReadOnlyDictionary<string, ArtifactReference> Outputs { get; init; }

    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}
