namespace Orchestrator.Grains.Experiments;

/// <summary>The list of experiments, for paging and filtering by status.</summary>
[Alias("IExperimentIndexGrain")]
public interface IExperimentIndexGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Records an experiment's latest summary: lists see it at once, and the call completes once a write that holds it
    /// is stored (it fails if that write fails; the grain writes it again later).
    /// </summary>
    [Alias("Upsert")]
    Task UpsertAsync(ExperimentSummary summary);

    /// <summary>Experiments newest first, optionally of one status.</summary>
    [ReadOnly, Alias("List")]
    Task<ExperimentPage> ListAsync(ExperimentStatus? status, int offset, int limit);

    /// <summary>How many experiments are in each status (statuses with none are left out).</summary>
    [ReadOnly, Alias("CountByStatus")]
    Task<Dictionary<ExperimentStatus, int>> CountByStatusAsync();
}

/// <summary>A page of experiments and how many match in all.</summary>
[GenerateSerializer, Immutable, Alias("ExperimentPage")]
public sealed record ExperimentPage
{
    [Id(0)] public required List<ExperimentSummary> Items { get; init; }
    [Id(1)] public required int Total { get; init; }
    [Id(2)] public required int Offset { get; init; }
    [Id(3)] public required int Limit { get; init; }
}
