namespace Orchestrator.Grains.Experiments.Index;

/// <summary>
/// Reads the partitioned experiment index: the directory's days, each day's partitions that match (from counts held in
/// memory), and only as many partitions as a page needs, newest first. Writes go to one partition
/// (<see cref="UpsertAsync"/>).
/// </summary>
public static class ExperimentIndex
{
    /// <summary>Partitions a listing reads at once (a page of 500 over sparse minutes would otherwise activate 500 together).</summary>
    public const int ReadAtOnce = 32;

    /// <summary>Records an experiment's latest summary in its partition; completes once stored.</summary>
    public static Task UpsertAsync(IGrainFactory grains, ExperimentSummary summary) =>
        grains.GetGrain<IExperimentIndexPartitionGrain>(ExperimentIndexBuckets.Of(summary.CreatedAt)).UpsertAsync(summary);

    /// <summary>How many experiments are in each status (statuses with none are left out): each day's sums, summed.</summary>
    public static async Task<Dictionary<ExperimentStatus, int>> CountByStatusAsync(IGrainFactory grains)
    {
        var days = await Directory(grains).GetDaysAsync();
        var sums = new Dictionary<ExperimentStatus, int>();
        foreach (var counts in await Task.WhenAll(days.Select(day => grains.GetGrain<IExperimentIndexDayGrain>(day).CountByStatusAsync())))
        {
            foreach (var (status, count) in counts)
            {
                sums[status] = sums.GetValueOrDefault(status) + count;
            }
        }

        return sums;
    }

    /// <summary>
    /// Up to <paramref name="limit"/> experiments matching <paramref name="query"/>, newest first: those after
    /// <paramref name="after"/> when given, else past the first <paramref name="offset"/>; with how many match in all,
    /// how many come before the page, and where the next page starts (null on the last).
    /// </summary>
    public static async Task<ExperimentListing> ListAsync(IGrainFactory grains, ExperimentQuery query, ExperimentListPosition? after, int offset, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var matches = await MatchingAsync(grains, query);
        var total = matches.Sum(match => (long)match.Count);

        // The partitions before the page's first: whole ones are skipped by their counts alone.
        var first = 0;
        var skip = offset;
        var before = 0L;
        if (after is not null)
        {
            var partition = ExperimentIndexBuckets.Of(after.CreatedAt);
            while (first < matches.Count && matches[first].Partition > partition)
            {
                before += matches[first++].Count;
            }

            skip = 0;
        }
        else
        {
            while (first < matches.Count && skip >= matches[first].Count)
            {
                skip -= matches[first].Count;
                before += matches[first++].Count;
            }
        }

        // One more than the page, to know whether a next page exists. Partitions are read as many at once as their counts
        // say the page needs; counts that changed meanwhile just take another round.
        var items = new List<ExperimentSummary>();
        var wanted = (long)limit + 1;
        var next = first;
        var firstRead = true;
        while (items.Count < wanted && next < matches.Count)
        {
            var round = new List<long>();
            for (var expected = 0L; next < matches.Count && items.Count + expected < wanted && round.Count < ReadAtOnce; next++)
            {
                round.Add(matches[next].Partition);
                expected += matches[next].Count - (firstRead && round.Count == 1 ? skip : 0);
            }

            var pages = await Task.WhenAll(round.Select((partition, index) =>
            {
                var starts = firstRead && index == 0;
                return grains.GetGrain<IExperimentIndexPartitionGrain>(partition)
                    .ListAsync(query, starts ? after : null, starts ? skip : 0, (int)Math.Min(wanted - items.Count, int.MaxValue));
            }));
            if (firstRead && after is not null)
            {
                before += pages[0].Before;
            }

            items.AddRange(pages.SelectMany(page => page.Items).Take((int)Math.Min(wanted - items.Count, int.MaxValue)));
            firstRead = false;
        }

        var more = items.Count > limit;
        if (more)
        {
            items.RemoveRange(limit, items.Count - limit);
        }

        return new ExperimentListing(
            items,
            (int)Math.Min(total, int.MaxValue),
            (int)Math.Min(after is null ? offset : before, int.MaxValue),
            more ? ExperimentListPosition.Of(items[^1]) : null);
    }

    /// <summary>Every experiment matching <paramref name="query"/>, newest first, read a page of <paramref name="pageSize"/> at a time.</summary>
    public static async Task<List<ExperimentSummary>> ListAllAsync(IGrainFactory grains, ExperimentQuery query, int pageSize = 1000)
    {
        var all = new List<ExperimentSummary>();
        ExperimentListPosition? after = null;
        do
        {
            var page = await ListAsync(grains, query, after, 0, pageSize);
            all.AddRange(page.Items);
            after = page.Next;
        }
        while (after is not null);

        return all;
    }

    /// <summary>Whether the index answers and holds everything it should (the index of the first layout has been moved in).</summary>
    public static Task<bool> IsCompleteAsync(IGrainFactory grains) => Directory(grains).IsCompleteAsync();

    /// <summary>Every partition with a match, newest first, each day's answered from its counts in memory.</summary>
    private static async Task<List<PartitionMatch>> MatchingAsync(IGrainFactory grains, ExperimentQuery query)
    {
        var days = await Directory(grains).GetDaysAsync();
        var perDay = await Task.WhenAll(days.Select(day => grains.GetGrain<IExperimentIndexDayGrain>(day).MatchingAsync(query)));
        return [.. perDay.SelectMany(matches => matches)];
    }

    private static IExperimentIndexDirectoryGrain Directory(IGrainFactory grains) => grains.GetGrain<IExperimentIndexDirectoryGrain>(ExperimentIndexDirectoryGrain.Key);
}

/// <summary>A page of the index: its experiments, how many match in all, how many come before it, and where the next starts.</summary>
public sealed record ExperimentListing(List<ExperimentSummary> Items, int Total, int Offset, ExperimentListPosition? Next);
