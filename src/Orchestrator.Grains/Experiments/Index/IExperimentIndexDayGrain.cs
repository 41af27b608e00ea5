namespace Orchestrator.Grains.Experiments.Index;

/// <summary>The directory of one day's partitions (the key: days since 1970-01-01 UTC) and, in memory, their counts.</summary>
[Alias("IExperimentIndexDayGrain")]
public interface IExperimentIndexDayGrain : IGrainWithIntegerKey
{
    /// <summary>Lists partitions of this day (once each: partitions already listed cost no write); completes once stored.</summary>
    [Alias("AddPartitions")]
    Task AddPartitionsAsync(List<long> partitions);

    /// <summary>A partition's counts after a write (held in memory only).</summary>
    [AlwaysInterleave, Alias("ReportCounts")]
    Task ReportCountsAsync(long partition, PartitionCounts counts);

    /// <summary>This day's partitions with at least one experiment matching <paramref name="query"/>, newest first, with how many match.</summary>
    [ReadOnly, Alias("Matching")]
    Task<List<PartitionMatch>> MatchingAsync(ExperimentQuery query);

    /// <summary>How many of this day's experiments are in each status (statuses with none are left out).</summary>
    [ReadOnly, Alias("CountByStatus")]
    Task<Dictionary<ExperimentStatus, int>> CountByStatusAsync();
}
