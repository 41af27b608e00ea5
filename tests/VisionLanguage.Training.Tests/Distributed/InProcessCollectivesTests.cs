using VisionLanguage.Training.Distributed;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Tests.Distributed;

/// <summary>The in-process backend of the collectives: ranks on threads of one process, results the same on every rank.</summary>
public sealed class InProcessCollectivesTests
{
    private const int Ranks = 3;

    [Fact]
    public async Task All_reduce_sums_or_averages_in_rank_order_and_broadcast_copies_the_roots_tensors()
    {
        var results = await OnEveryRankAsync(collectives =>
        {
            var sum = full([2], (double)collectives.Rank + 1, dtype: float64);
            var mean = full([2], (double)collectives.Rank + 1, dtype: float64);
            var broadcast = full([2], (double)collectives.Rank, dtype: float64);
            collectives.AllReduce([sum], ReduceOperation.Sum);
            collectives.AllReduce([mean], ReduceOperation.Mean);
            collectives.Broadcast([broadcast], root: 2);
            collectives.Barrier();
            return (Sum: sum.data<double>().ToArray(), Mean: mean.data<double>().ToArray(), Broadcast: broadcast.data<double>().ToArray(),
                Any: collectives.Any(collectives.Rank == 1), None: collectives.Any(false));
        });

        Assert.All(results, result =>
        {
            Assert.Equal([6.0, 6.0], result.Sum);
            Assert.Equal([2.0, 2.0], result.Mean);
            Assert.Equal([2.0, 2.0], result.Broadcast);
            Assert.True(result.Any);
            Assert.False(result.None);
        });
    }

    [Fact]
    public async Task All_gather_with_grad_gives_each_rank_the_gradient_of_every_ranks_loss_through_its_own_slice()
    {
        // Rank r holds x_r (2 rows) and computes loss_r = sum(gathered · w_r). The gradient of the summed losses with
        // respect to x_r is the sum over ranks k of rows r of w_k: what LAVIS's GatherLayer gives each rank.
        var weights = Enumerable.Range(0, Ranks).Select(k => arange(2 * Ranks * 3, dtype: float64).reshape(2 * Ranks, 3).mul(k + 1)).ToArray();
        var gradients = await OnEveryRankAsync(collectives =>
        {
            var x = full([2, 3], (double)collectives.Rank, dtype: float64).requires_grad_();
            var gathered = collectives.AllGatherWithGrad(x);                               // (2·ranks, 3)
            Assert.Equal([2L * Ranks, 3], gathered.shape);
            gathered.mul(weights[collectives.Rank]).sum().backward();
            return x.grad!.data<double>().ToArray();
        });

        for (var rank = 0; rank < Ranks; rank++)
        {
            var expected = weights.Select(w => w.narrow(0, 2 * rank, 2)).Aggregate((a, b) => a + b);
            Assert.Equal(expected.data<double>().ToArray(), gradients[rank]);
        }
    }

    [Fact]
    public async Task A_rank_that_aborts_releases_the_others_from_their_collectives()
    {
        using var group = new InProcessCollectives(2);
        var waiting = Task.Run(() => group.ForRank(0).Barrier());

        group.ForRank(1).Abort();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.True(group.Aborted.IsCancellationRequested);
    }

    private static async Task<T[]> OnEveryRankAsync<T>(Func<ICollectives, T> body)
    {
        using var group = new InProcessCollectives(Ranks);
        var ranks = Enumerable.Range(0, Ranks)
            .Select(rank => Task.Factory.StartNew(() => body(group.ForRank(rank)), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))
            .ToArray();
        return await Task.WhenAll(ranks);
    }
}
