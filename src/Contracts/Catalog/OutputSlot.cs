namespace Orchestrator.Contracts.Catalog;

/// <summary>An output a stage kind declares; other stages consume it as <c>stage.name</c>.</summary>
public sealed record OutputSlot(string Name, ArtifactType Type, string Description)
{
    /// <summary>When set, the kind produces this output only under these option values; otherwise always.</summary>
    public OutputCondition? When { get; init; }
}

/// <summary>An output exists only when option <paramref name="Option"/> (snake_case) takes one of <paramref name="Values"/> (as written in specs).</summary>
public sealed record OutputCondition(string Option, IReadOnlyList<string> Values)
{
    public override string ToString() => $"{Option} {string.Join(" or ", Values)}";
}
