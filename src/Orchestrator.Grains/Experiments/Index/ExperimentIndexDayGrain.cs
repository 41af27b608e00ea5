namespace Orchestrator.Grains.Experiments.Index;

/// <summary>
/// Lists the partitions of one day that hold experiments (at most <see cref="ExperimentIndexBuckets.PerDay"/>, added once
/// each and never removed) and keeps their counts in memory: asked of every partition when first needed in an
/// activation, then kept current by each partition after its writes. So a count or a filtered listing reads no partition
/// that has nothing for it, and a change of one experiment writes nothing here. The first partition of a day also adds
/// the day to the index's directory.
/// </summary>
public sealed class ExperimentIndexDayGrain(
    [PersistentState(ExperimentIndexDayGrain.StateName, OrchestratorStorage.Name)] IPersistentState<ExperimentIndexDayState> state) : Grain, IExperimentIndexDayGrain
{
    public const string StateName = "experiment-index-day";

    /// <summary>Partitions asked for their counts at once when a day's counts are first needed.</summary>
    public const int AskedAtOnce = 16;

    /// <summary>Each partition's counts, once asked of them all in this activation.</summary>
    private Dictionary<long, PartitionCounts>? _counts;

    /// <summary>Counts reported while they were being asked of every partition: newer than what the asking may bring back.</summary>
    private Dictionary<long, PartitionCounts>? _reportedWhileLoading;

    private Task<Dictionary<long, PartitionCounts>>? _loading;

    public async Task AddPartitionsAsync(List<long> partitions)
    {
        var day = this.GetPrimaryKeyLong();
        foreach (var partition in partitions.Where(partition => ExperimentIndexBuckets.DayOf(partition) != day))
        {
            throw new ArgumentException($"Partition {partition} is not of day {day}.", nameof(partitions));
        }

        var listed = state.State.Partitions;
        var added = partitions.Distinct().Where(partition => listed.BinarySearch(partition) < 0).ToList();
        if (added.Count == 0)
        {
            return;
        }

        if (listed.Count == 0)
        {
            await GrainFactory.GetGrain<IExperimentIndexDirectoryGrain>(ExperimentIndexDirectoryGrain.Key).AddDayAsync(day);
        }

        state.State.Partitions = [.. listed.Concat(added).Order()];
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Partitions = listed;
            throw;
        }

        foreach (var partition in added)
        {
            _counts?.TryAdd(partition, new PartitionCounts());
        }
    }

    public Task ReportCountsAsync(long partition, PartitionCounts counts)
    {
        if (_counts is not null)
        {
            _counts[partition] = counts;
        }
        else if (_reportedWhileLoading is not null)
        {
            _reportedWhileLoading[partition] = counts;
        }

        return Task.CompletedTask;
    }

    public async Task<List<PartitionMatch>> MatchingAsync(ExperimentQuery query)
    {
        var counts = await CountsAsync();
        var matches = new List<PartitionMatch>();
        for (var index = state.State.Partitions.Count - 1; index >= 0; index--)
        {
            var partition = state.State.Partitions[index];
            if (counts.TryGetValue(partition, out var partitionCounts) && query.CountIn(partitionCounts) is > 0 and var count)
            {
                matches.Add(new PartitionMatch(partition, count));
            }
        }

        return matches;
    }

    public async Task<Dictionary<ExperimentStatus, int>> CountByStatusAsync()
    {
        var sums = new Dictionary<ExperimentStatus, int>();
        foreach (var counts in (await CountsAsync()).Values)
        {
            foreach (var (status, count) in counts.ByStatus)
            {
                sums[status] = sums.GetValueOrDefault(status) + count;
            }
        }

        return sums;
    }

    /// <summary>
    /// Every partition's counts: asked of them all at once the first time in an activation (calls that need them
    /// meanwhile share the asking; a failed asking is tried again by the next call).
    /// </summary>
    private Task<Dictionary<long, PartitionCounts>> CountsAsync() => _counts is not null ? Task.FromResult(_counts) : _loading ??= LoadCountsAsync();

    private async Task<Dictionary<long, PartitionCounts>> LoadCountsAsync()
    {
        _reportedWhileLoading = [];
        try
        {
            // A few at a time: asking 1,440 partitions at once is 1,440 storage reads at once where they are not active,
            // which made every other request to the storage account time out.
            var counts = new Dictionary<long, PartitionCounts>();
            foreach (var chunk in state.State.Partitions.ToList().Chunk(AskedAtOnce))
            {
                var asked = await Task.WhenAll(chunk.Select(partition => GrainFactory.GetGrain<IExperimentIndexPartitionGrain>(partition).GetCountsAsync()));
                foreach (var (partition, partitionCounts) in chunk.Zip(asked))
                {
                    counts[partition] = partitionCounts;
                }
            }

            foreach (var (partition, reported) in _reportedWhileLoading)
            {
                counts[partition] = reported;
            }

            return _counts = counts;
        }
        finally
        {
            _reportedWhileLoading = null;
            _loading = null;
        }
    }
}

/// <summary>The partitions of one day that hold experiments, oldest first.</summary>
[GenerateSerializer, Alias("ExperimentIndexDayState")]
public sealed class ExperimentIndexDayState
{
    [Id(0)] public List<long> Partitions { get; set; } = [];
}
