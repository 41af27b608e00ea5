namespace Orchestrator.Grains.Experiments.Index;

/// <summary>Which experiments a listing or a count asks for: optionally one status, optionally one label (name and value).</summary>
[GenerateSerializer, Immutable, Alias("ExperimentQuery")]
public sealed record ExperimentQuery
{
    public static readonly ExperimentQuery All = new();

    [Id(0)] public ExperimentStatus? Status { get; init; }

    [Id(1)] public string? LabelName { get; init; }

    [Id(2)] public string? LabelValue { get; init; }

    public bool Matches(ExperimentSummary summary) =>
        (Status is null || summary.Status == Status)
        && (LabelName is null || (summary.Labels.TryGetValue(LabelName, out var value) && value == LabelValue));

    /// <summary>How many of a partition's experiments match, from its counts alone.</summary>
    public int CountIn(PartitionCounts counts)
    {
        if (LabelName is null)
        {
            return Status is { } status ? counts.ByStatus.GetValueOrDefault(status) : counts.ByStatus.Values.Sum();
        }

        return counts.ByLabel.TryGetValue(PartitionCounts.LabelKey(LabelName, LabelValue ?? ""), out var byStatus)
            ? Status is { } labelled ? byStatus.GetValueOrDefault(labelled) : byStatus.Values.Sum()
            : 0;
    }
}

/// <summary>A place in the newest-first order (creation time descending, then id ascending): a listing continues after it.</summary>
[GenerateSerializer, Immutable, Alias("ExperimentListPosition")]
public sealed record ExperimentListPosition(
    [property: Id(0)] DateTimeOffset CreatedAt,
    [property: Id(1)] string Id)
{
    /// <summary>Whether <paramref name="summary"/> comes after this place in the order.</summary>
    public bool IsBefore(ExperimentSummary summary) =>
        summary.CreatedAt < CreatedAt || (summary.CreatedAt == CreatedAt && string.CompareOrdinal(summary.Id, Id) > 0);

    public static ExperimentListPosition Of(ExperimentSummary summary) => new(summary.CreatedAt, summary.Id);
}

/// <summary>A partition's experiments counted by status, and by status for each label (name and value) they carry.</summary>
[GenerateSerializer, Alias("ExperimentIndexPartitionCounts")]
public sealed class PartitionCounts
{
    [Id(0)] public Dictionary<ExperimentStatus, int> ByStatus { get; init; } = [];

    /// <summary>By <see cref="LabelKey"/>.</summary>
    [Id(1)] public Dictionary<string, Dictionary<ExperimentStatus, int>> ByLabel { get; init; } = [];

    /// <summary>One key per label name and value, unambiguous whatever characters they hold (the name's length comes first).</summary>
    public static string LabelKey(string name, string value) => $"{name.Length}:{name}={value}";

    public void Add(ExperimentSummary summary, int delta)
    {
        Bump(ByStatus, summary.Status, delta);
        foreach (var (name, value) in summary.Labels)
        {
            var key = LabelKey(name, value);
            if (!ByLabel.TryGetValue(key, out var byStatus))
            {
                ByLabel[key] = byStatus = [];
            }

            Bump(byStatus, summary.Status, delta);
            if (byStatus.Count == 0)
            {
                ByLabel.Remove(key);
            }
        }
    }

    public PartitionCounts Copy() => new()
    {
        ByStatus = new(ByStatus),
        ByLabel = ByLabel.ToDictionary(entry => entry.Key, entry => new Dictionary<ExperimentStatus, int>(entry.Value)),
    };

    private static void Bump(Dictionary<ExperimentStatus, int> counts, ExperimentStatus status, int delta)
    {
        var count = counts.GetValueOrDefault(status) + delta;
        if (count == 0)
        {
            counts.Remove(status);
        }
        else
        {
            counts[status] = count;
        }
    }
}

/// <summary>How many experiments of one partition match a query.</summary>
[GenerateSerializer, Immutable, Alias("ExperimentIndexPartitionMatch")]
public sealed record PartitionMatch([property: Id(0)] long Partition, [property: Id(1)] int Count);

/// <summary>Up to the asked number of a partition's matching experiments, and how many match ahead of them in it.</summary>
[GenerateSerializer, Immutable, Alias("ExperimentIndexPartitionPage")]
public sealed record PartitionPage([property: Id(0)] List<ExperimentSummary> Items, [property: Id(1)] int Before);
