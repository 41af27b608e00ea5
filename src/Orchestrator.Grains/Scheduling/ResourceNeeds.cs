namespace Orchestrator.Grains.Scheduling;

/// <summary>What one run needs: a gang of <see cref="Workers"/> workers, each with the rest free.</summary>
[GenerateSerializer, Immutable, Alias("ResourceNeeds")]
public sealed record ResourceNeeds
{
    [Id(0)] public int Workers { get; init; } = 1;
    [Id(1)] public int Slots { get; init; } = 1;

    /// <summary><c>any</c>, <c>cpu</c> or <c>cuda</c>.</summary>
    [Id(2)] public string Device { get; init; } = "any";

    [Id(3)] public double MemoryGib { get; init; }
    [Id(4)] public Dictionary<string, string> Labels { get; init; } = [];

    /// <summary>Files the run reads from its worker's file system (an import's sources): only a worker with a root above each may take it.</summary>
    [Id(5)] public List<string> ImportPaths { get; init; } = [];
}

/// <summary>What a worker offers.</summary>
[GenerateSerializer, Immutable, Alias("WorkerCapacity")]
public sealed record WorkerCapacity
{
    [Id(0)] public required int Slots { get; init; }

    /// <summary><c>cpu</c> or <c>cuda</c>.</summary>
    [Id(1)] public required string Device { get; init; }

    [Id(2)] public double MemoryGib { get; init; }
    [Id(3)] public Dictionary<string, string> Labels { get; init; } = [];

    /// <summary>Absolute folders under which the worker reads import sources.</summary>
    [Id(4)] public List<string> ImportRoots { get; init; } = [];

    /// <summary>The stage kinds the worker runs; empty when it runs none (or registered before workers said).</summary>
    [Id(5)] public List<string> StageKinds { get; init; } = [];

    /// <summary>The collective backends the worker can join a gang with (<c>gloo</c>, <c>nccl</c>).</summary>
    [Id(6)] public List<string> CollectiveBackends { get; init; } = [];

    /// <summary>Whether the worker can be a rank of a gang: it has the collective backend its device's gangs use.</summary>
    public bool JoinsGangs => CollectiveBackends.Contains(Contracts.Messages.CollectiveBackends.For(Device), StringComparer.Ordinal);

    /// <summary>Whether the worker has a runner for <paramref name="kind"/>.</summary>
    public bool Runs(string kind) => StageKinds.Contains(kind, StringComparer.Ordinal);

    public bool Offers(ResourceNeeds needs) =>
        (needs.Device == "any" || string.Equals(needs.Device, Device, StringComparison.OrdinalIgnoreCase))
        && (needs.MemoryGib <= 0 || MemoryGib >= needs.MemoryGib)
        && needs.Labels.All(label => Labels.TryGetValue(label.Key, out var value) && value == label.Value)
        && needs.ImportPaths.All(path => Contracts.Catalog.ImportRoots.Containing(path, ImportRoots) is not null);
}
