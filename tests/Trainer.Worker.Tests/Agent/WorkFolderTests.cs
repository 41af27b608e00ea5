using Trainer.Worker.Agent;

namespace Trainer.Worker.Tests.Agent;

/// <summary>Where a run works on its worker's disk, which the worker deletes when the run ends.</summary>
public sealed class WorkFolderTests
{
    [Fact]
    public void The_ranks_of_one_gang_work_in_folders_of_their_own_so_a_rank_that_ends_first_deletes_only_its_own()
    {
        var run = WorkerHarness.Run("r-7/a b") with { WorldSize = 3 };

        Assert.Equal("run-r-7_a_b", RunExecutor.WorkFolderName(run));
        Assert.Equal("run-r-7_a_b-rank-1", RunExecutor.WorkFolderName(run with { Rank = 1 }));
        Assert.Equal("run-r-7_a_b-rank-2", RunExecutor.WorkFolderName(run with { Rank = 2 }));
    }
}
