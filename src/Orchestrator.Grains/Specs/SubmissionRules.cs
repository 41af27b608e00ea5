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

    /// <summary>
    /// The stage kinds some worker will run, when that is known for good (one process, one worker); null in a cluster,
    /// where a stage of a kind no worker runs yet waits queued for one.
    /// </summary>
    public IReadOnlyCollection<string>? RunnableKinds { get; init; }
}
