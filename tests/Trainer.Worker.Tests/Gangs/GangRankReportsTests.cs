using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Tests.Data;

namespace Trainer.Worker.Tests.Gangs;

/// <summary>A gang's progress is rank 0's to report; the other ranks' steps still keep their own run alive.</summary>
public sealed class GangRankReportsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("gang-reports-").FullName;

    [Fact]
    public async Task Rank_1_reports_no_progress_but_its_steps_keep_its_watchdog_quiet()
    {
        var rank1 = DataRunContext.Create("dataset.synthetic", new SyntheticDatasetOptions(), Path.Combine(_root, "rank1"), rank: 1);
        var rank0 = DataRunContext.Create("dataset.synthetic", new SyntheticDatasetOptions(), Path.Combine(_root, "rank0"));
        foreach (var run in new[] { rank0, rank1 })
        {
            var started = run.Context.LastAliveAt;
            run.Time.Advance(TimeSpan.FromMinutes(10));
            await run.Context.ReportProgressAsync(5, totalSteps: 10);
            Assert.Equal(started + (long)(TimeSpan.FromMinutes(10).TotalSeconds * run.Time.TimestampFrequency), run.Context.LastAliveAt);
        }

        Assert.Empty(rank1.Reports);
        Assert.Equal(5, Assert.IsType<StageRunProgressed>(Assert.Single(rank0.Reports)).Step);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
