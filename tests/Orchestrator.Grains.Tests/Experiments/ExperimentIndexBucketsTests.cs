using Orchestrator.Grains.Experiments.Index;

namespace Orchestrator.Grains.Tests.Experiments;

public sealed class ExperimentIndexBucketsTests
{
    [Theory]
    [InlineData("1970-01-01T00:00:00Z", 0, 0)]
    [InlineData("1970-01-01T00:00:59.9999999Z", 0, 0)]
    [InlineData("1970-01-01T00:01:00Z", 1, 0)]
    [InlineData("1970-01-01T23:59:59Z", 1439, 0)]
    [InlineData("1970-01-02T00:00:00Z", 1440, 1)]
    [InlineData("1969-12-31T23:59:59Z", -1, -1)]
    [InlineData("2026-12-07T14:52:21+02:00", 29_944_132, 20_794)]
    public void A_creation_time_gives_its_minute_and_that_minutes_day(string createdAt, long partition, long day)
    {
        var at = DateTimeOffset.Parse(createdAt, System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(partition, ExperimentIndexBuckets.Of(at));
        Assert.Equal(day, ExperimentIndexBuckets.DayOf(partition));
        Assert.True(ExperimentIndexBuckets.StartOf(partition) <= at && at < ExperimentIndexBuckets.StartOf(partition + 1));
    }
}
