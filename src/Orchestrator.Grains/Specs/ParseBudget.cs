namespace Orchestrator.Grains.Specs;

/// <summary>
/// Counts what a read builds against <see cref="SpecLimits"/>, for YAML and JSON alike, and stops the read before a
/// limit would be passed: every check runs before the node it is about is built or copied, so what a request costs is
/// bounded by the limits, not by what its aliases would expand to.
/// </summary>
internal sealed class ParseBudget(SpecLimits limits)
{
    public SpecLimits Limits { get; } = limits;

    /// <summary>Nodes built so far (mappings, lists, keys and values, alias copies included); never over <see cref="SpecLimits.MaxNodes"/>.</summary>
    public int Nodes { get; private set; }

    /// <summary>The deepest nesting built so far; never over <see cref="SpecLimits.MaxDepth"/>.</summary>
    public int Depth { get; private set; }

    /// <summary>Characters of keys and values built so far, alias copies included.</summary>
    public long Characters { get; private set; }

    /// <summary>Counts one value or key of <paramref name="length"/> characters about to be built at <paramref name="position"/>.</summary>
    public void AddScalar(int length, ISpecPosition position)
    {
        if (length > Limits.MaxScalarLength)
        {
            throw new SpecLimitException(nameof(SpecLimits.MaxScalarLength), position.Path,
                $"a value or key of {length} characters is over the limit of {Limits.MaxScalarLength} ({Setting(nameof(SpecLimits.MaxScalarLength))}); shorten it or raise the limit");
        }

        AddNode(position);
        Characters += length;
    }

    /// <summary>Counts a mapping or list about to be opened at <paramref name="depth"/> (the top-level one is at depth 1).</summary>
    public void AddCollection(int depth, ISpecPosition position)
    {
        if (depth > Limits.MaxDepth)
        {
            throw new SpecLimitException(nameof(SpecLimits.MaxDepth), position.Path,
                $"the spec nests lists and mappings deeper than {Limits.MaxDepth} levels ({Setting(nameof(SpecLimits.MaxDepth))}); flatten it or raise the limit");
        }

        AddNode(position);
        Depth = Math.Max(Depth, depth);
    }

    /// <summary>
    /// Counts the copy of an anchored node that an alias at <paramref name="line"/> stands for, before it is made:
    /// its <paramref name="nodes"/>, its <paramref name="characters"/>, and its <paramref name="height"/> (levels of
    /// nesting) placed under <paramref name="parentDepth"/> levels.
    /// </summary>
    public void AddCopy(int nodes, long characters, int height, int parentDepth, long line, ISpecPosition position)
    {
        if ((long)Nodes + nodes > Limits.MaxNodes)
        {
            throw new SpecLimitException(nameof(SpecLimits.MaxNodes), position.Path,
                $"the spec expands past {Limits.MaxNodes} nodes through aliases (the alias at line {line} adds {nodes}; {Setting(nameof(SpecLimits.MaxNodes))}); " +
                "write the repeated part out fewer times or raise the limit");
        }

        if (Characters + characters > Limits.MaxBytes)
        {
            throw new SpecLimitException(nameof(SpecLimits.MaxBytes), position.Path,
                $"the spec expands past {Limits.MaxBytes} characters of text through aliases (the alias at line {line} adds {characters}; {Setting(nameof(SpecLimits.MaxBytes))}); " +
                "write the repeated part out fewer times or raise the limit");
        }

        if (parentDepth + height > Limits.MaxDepth)
        {
            throw new SpecLimitException(nameof(SpecLimits.MaxDepth), position.Path,
                $"the alias at line {line} nests the spec deeper than {Limits.MaxDepth} levels ({Setting(nameof(SpecLimits.MaxDepth))}); flatten it or raise the limit");
        }

        Nodes += nodes;
        Characters += characters;
        Depth = Math.Max(Depth, parentDepth + height);
    }

    private void AddNode(ISpecPosition position)
    {
        if (Nodes >= Limits.MaxNodes)
        {
            throw new SpecLimitException(nameof(SpecLimits.MaxNodes), position.Path,
                $"the spec has more than {Limits.MaxNodes} nodes (mappings, lists, keys and values; {Setting(nameof(SpecLimits.MaxNodes))}); split the experiment or raise the limit");
        }

        Nodes++;
    }

    private static string Setting(string property) => SpecLimits.Setting(property);
}

/// <summary>Where a read is, so that an error can name the place (computed only when there is an error).</summary>
internal interface ISpecPosition
{
    /// <summary>The path of the node about to be built, like <c>/stages/3/config</c>; empty at the top.</summary>
    string Path { get; }
}

/// <summary>A read stopped because the spec would pass one of <see cref="SpecLimits"/>; the message names the setting.</summary>
internal sealed class SpecLimitException(string property, string path, string message) : Exception(message)
{
    /// <summary>The setting passed, e.g. <c>SpecLimits:MaxNodes</c>.</summary>
    public string Setting { get; } = SpecLimits.Setting(property);

    /// <summary>Where in the spec the read stopped, as a path like <c>/stages/3/config</c>; empty at the top.</summary>
    public string Path { get; } = path;
}
