namespace Orchestrator.Grains.Experiments.Index;

/// <summary>The experiment index's directory: the days that hold experiments.</summary>
[Alias("IExperimentIndexDirectoryGrain")]
public interface IExperimentIndexDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Lists a day (once: a day already listed costs no write); completes once stored.</summary>
    [Alias("AddDay")]
    Task AddDayAsync(long day);

    /// <summary>The days that hold experiments, newest first.</summary>
    [ReadOnly, Alias("Days")]
    Task<List<long>> GetDaysAsync();

    /// <summary>
    /// Whether an index of the first layout (one state with every summary) has been moved into the partitions, or there
    /// was none; waits for a move under way.
    /// </summary>
    [AlwaysInterleave, Alias("IsComplete")]
    Task<bool> IsCompleteAsync();

    /// <summary>The index of the first layout has been moved into the partitions.</summary>
    [Alias("LegacyMoved")]
    Task LegacyMovedAsync();
}
