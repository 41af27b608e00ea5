namespace Orchestrator.Contracts.Catalog;

/// <summary>An output a stage kind declares; other stages consume it as <c>stage.name</c>.</summary>
public sealed record OutputSlot(string Name, ArtifactType Type, string Description)
{
    /// <summary>When set, the kind produces this output only under these option values; otherwise always.</summary>
    public OutputCondition? When { get; init; }

    /// <summary>
    /// For a dataset output: what it holds, each always or under a condition on the producer's options; empty when it is
    /// not a dataset (or what it holds cannot be known at submission, when no consumer's need is checked against it).
    /// </summary>
    public IReadOnlyList<DatasetHolds> Holds { get; init; } = [];

    /// <summary>What the output holds under the producer's resolved options; null when <see cref="Holds"/> says nothing.</summary>
    public DatasetContent? HoldsUnder(System.Text.Json.Nodes.JsonObject resolved) =>
        Holds.Count == 0
            ? null
            : Holds.Where(hold => hold.When is null || hold.When.HoldsFor(resolved)).Aggregate(DatasetContent.None, (all, hold) => all | hold.Content);
}

/// <summary>An output exists only when option <paramref name="Option"/> (snake_case) takes one of <paramref name="Values"/> (as written in specs).</summary>
public sealed record OutputCondition(string Option, IReadOnlyList<string> Values)
{
    public override string ToString() => $"{Option} {string.Join(" or ", Values)}";
}
