using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Grains.Specs;

/// <summary>
/// What the cluster can satisfy, checked at submission beside the spec's own consistency, so that a stage no
/// worker could ever run is refused with its reason instead of waiting forever or failing at the worker.
/// </summary>
public sealed record SubmissionRules
{
    /// <summary>The most workers one stage's gang may ask for (<see cref="SchedulerOptions.MaxGangSize"/>).</summary>
    public int MaxGangSize { get; init; } = new SchedulerOptions().MaxGangSize;

    /// <summary>The folders under which some worker reads import sources; an import path outside all of them is refused.</summary>
    public IReadOnlyList<string> ImportRoots { get; init; } = [];
}
