namespace VisionLanguage.Bench;

/// <summary>Summaries of repeated timings.</summary>
internal static class BenchStatistics
{
    /// <summary>The median: on a shared machine a round now and then is slowed several times over by other work.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0)
        {
            throw new ArgumentException("no timings to summarise; run at least one step", nameof(values));
        }

        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
