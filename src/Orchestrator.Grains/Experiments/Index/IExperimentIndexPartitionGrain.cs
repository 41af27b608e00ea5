namespace Orchestrator.Grains.Experiments.Index;

/// <summary>
/// The summaries of the experiments created in one minute (the key: <see cref="ExperimentIndexBuckets.Of"/>), with their
/// counts by status and by label.
/// </summary>
[Alias("IExperimentIndexPartitionGrain")]
public interface IExperimentIndexPartitionGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Records an experiment's latest summary: lists see it at once, and the call completes once a write that holds it
    /// is stored (it fails if that write fails; the grain writes it again later).
    /// </summary>
    [Alias("Upsert")]
    Task UpsertAsync(ExperimentSummary summary);

    /// <summary>Adds the summaries it has none of (an index of the first layout moving in: a newer summary is kept); completes once stored.</summary>
    [Alias("Import")]
    Task ImportAsync(List<ExperimentSummary> summaries);

    /// <summary>
    /// Up to <paramref name="take"/> matching experiments newest first: after <paramref name="after"/> if given, then
    /// past <paramref name="skip"/> more; with how many match ahead of the first returned.
    /// </summary>
    [ReadOnly, Alias("List")]
    Task<PartitionPage> ListAsync(ExperimentQuery query, ExperimentListPosition? after, int skip, int take);

    /// <summary>Its experiments counted by status and by label.</summary>
    [ReadOnly, Alias("Counts")]
    Task<PartitionCounts> GetCountsAsync();
}
