namespace Orchestrator.Grains.Experiments;

/// <summary>A page of experiments, how many match in all, and where the next page starts.</summary>
[GenerateSerializer, Immutable, Alias("ExperimentPage")]
public sealed record ExperimentPage
{
    [Id(0)] public required List<ExperimentSummary> Items { get; init; }
    [Id(1)] public required int Total { get; init; }

    /// <summary>How many matching experiments come before this page.</summary>
    [Id(2)] public required int Offset { get; init; }

    [Id(3)] public required int Limit { get; init; }

    /// <summary>Sent as <c>cursor</c>, gives the page after this one; null on the last page.</summary>
    [Id(4)] public string? NextCursor { get; init; }
}
