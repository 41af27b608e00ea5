namespace Orchestrator.Contracts.Specs;

/// <summary>An experiment as a user submits it: a named DAG of training stages.</summary>
public sealed record ExperimentSpec
{
    /// <summary>A human-readable name; not unique.</summary>
    public required string Name { get; init; }

    /// <summary>The stages, in the order the user wrote them.</summary>
    public required IReadOnlyList<StageSpec> Stages { get; init; }

    /// <summary>Free-form labels, e.g. team or project, kept with the experiment.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
}
