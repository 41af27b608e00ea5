namespace Orchestrator.Contracts.Catalog;

/// <summary>An input a stage kind declares. An artifact fits when its type fits any of <see cref="Accepts"/>.</summary>
public sealed record InputSlot(string Name, IReadOnlyList<ArtifactType> Accepts, string Description)
{
    /// <summary>The stage runs without it.</summary>
    public bool Optional { get; init; }

    /// <summary>Takes a list of artifacts (e.g. several training datasets) rather than exactly one.</summary>
    public bool IsList { get; init; }

    /// <summary>
    /// For a dataset input: what each bound dataset must hold, at least one of (e.g. VQA questions); checked at submission
    /// against what its producer's options make it hold (<see cref="OutputSlot.Holds"/>). <see cref="DatasetContent.None"/>
    /// asks nothing.
    /// </summary>
    public DatasetContent Needs { get; init; }

    public bool Fits(ArtifactType type) => Accepts.Any(type.Fits);
}
