namespace Orchestrator.Grains.Experiments.Index;

/// <summary>
/// Where an experiment's summary lives: the partition of the minute (UTC) it was created in, and the day that minute is
/// in. Both follow from the summary alone, since an experiment's creation time never changes, so a write finds its
/// partition without a lookup. docs/decisions/experiment-index.md says why a minute.
/// </summary>
public static class ExperimentIndexBuckets
{
    /// <summary>How much creation time one partition covers. Fixed: a partition's key is a count of these since 1970.</summary>
    public static readonly TimeSpan Width = TimeSpan.FromMinutes(1);

    /// <summary>Partitions in a day: a day's directory lists at most this many.</summary>
    public const long PerDay = 24 * 60;

    /// <summary>The partition an experiment created at <paramref name="createdAt"/> belongs to: minutes since 1970-01-01 UTC.</summary>
    public static long Of(DateTimeOffset createdAt) => FloorDivide(createdAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks, Width.Ticks);

    /// <summary>The day (days since 1970-01-01 UTC) whose directory lists <paramref name="partition"/>.</summary>
    public static long DayOf(long partition) => FloorDivide(partition, PerDay);

    /// <summary>When <paramref name="partition"/> begins.</summary>
    public static DateTimeOffset StartOf(long partition) => DateTimeOffset.UnixEpoch + partition * Width;

    private static long FloorDivide(long value, long divisor) => (value - (value < 0 ? divisor - 1 : 0)) / divisor;
}
