using System.Diagnostics;
using VisionLanguage.Training.Distributed;
using VisionLanguage.Training.Distributed.Gloo;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Tests.Distributed;

/// <summary>
/// The Gloo backend with its ranks on threads of this process, over TCP on 127.0.0.1, meeting through an in-memory
/// rendezvous store: the shim, Gloo's transport and the C# marshalling are the real ones. The process has TorchSharp's
/// libtorch_cpu.so (with its own Gloo) loaded, so these tests also check that the shim stays on Debian's libgloo.
/// </summary>
public sealed class GlooCollectivesTests
{
    // Far above what any of these collectives takes on loopback, far below the time a hang would cost the suite.
    private static readonly TimeSpan CollectiveTimeout = TimeSpan.FromSeconds(30);

    // How soon a rank must notice that a peer left or that it was aborted, against the 30 s timeout it would hit otherwise.
    private static readonly TimeSpan FailFastBound = TimeSpan.FromSeconds(5);

    public GlooCollectivesTests()
    {
        Assert.True(GlooCollectives.IsAvailable, GlooCollectives.UnavailableReason);
    }

    [Fact]
    public void The_shim_runs_debians_libgloo_in_a_process_that_has_loaded_libtorch_and_its_gloo()
    {
        using var tensor = ones(1);
        var maps = File.ReadAllText("/proc/self/maps");
        Assert.Contains("libtorch_cpu.so", maps);

        Assert.EndsWith("/libgloo.so.0", GlooCollectives.ImplementationPath);
        // libgloo's calls into itself stay in it too: no Gloo in the global scope comes first (.NET loads libtorch RTLD_LOCAL).
        Assert.Equal(GlooCollectives.ImplementationPath, GlooNative.Instance!.SearchOrderPath);
    }

    [Fact]
    public async Task All_reduce_sums_and_averages_tensors_of_every_supported_type_in_place()
    {
        var results = await OnEveryRankAsync(2, collectives =>
        {
            var r = collectives.Rank + 1.0;
            // Non-contiguous: the transpose of a (3, 2) tensor.
            var float32 = tensor(new[] { 1f, 2f, 3f, 4f, 5f, 6f }).mul(r).reshape(3, 2).t();
            var float64 = tensor(new[] { 0.5, 1.5 }).mul(r);
            var int64 = tensor(new[] { 10L, -20L, 30L }).mul((long)r);
            var int32 = tensor(new[] { 7, 8 }).mul((int)r);
            var float16 = tensor(new[] { 1f, 3f }).mul(r).to_type(ScalarType.Float16);
            var bfloat16 = tensor(new[] { 2f, 6f }).mul(r).to_type(ScalarType.BFloat16);
            collectives.AllReduce([float32, float64, int64, int32, float16, bfloat16], ReduceOperation.Sum);
            var mean32 = tensor(new[] { 1f, 2f }).mul(r);
            var mean64 = tensor(new[] { 3.0 }).mul(r);
            var meanHalf = tensor(new[] { 5f }).mul(r).to_type(ScalarType.Float16);
            collectives.AllReduce([mean32, mean64, meanHalf], ReduceOperation.Mean);
            return new
            {
                Float32 = float32.contiguous().data<float>().ToArray(),
                Float64 = float64.data<double>().ToArray(),
                Int64 = int64.data<long>().ToArray(),
                Int32 = int32.data<int>().ToArray(),
                Float16 = float16.to_type(ScalarType.Float32).data<float>().ToArray(),
                BFloat16 = bfloat16.to_type(ScalarType.Float32).data<float>().ToArray(),
                Types = (float16.dtype, bfloat16.dtype),
                Mean32 = mean32.data<float>().ToArray(),
                Mean64 = mean64.data<double>().ToArray(),
                MeanHalf = meanHalf.to_type(ScalarType.Float32).data<float>().ToArray(),
            };
        });

        Assert.All(results, result =>
        {
            Assert.Equal([3f, 9f, 15f, 6f, 12f, 18f], result.Float32);
            Assert.Equal([1.5, 4.5], result.Float64);
            Assert.Equal([30L, -60L, 90L], result.Int64);
            Assert.Equal([21, 24], result.Int32);
            Assert.Equal([3f, 9f], result.Float16);
            Assert.Equal([6f, 18f], result.BFloat16);
            Assert.Equal((ScalarType.Float16, ScalarType.BFloat16), result.Types);
            Assert.Equal([1.5f, 3f], result.Mean32);
            Assert.Equal([4.5], result.Mean64);
            Assert.Equal([7.5f], result.MeanHalf);
        });
    }

    [Fact]
    public async Task Two_ranks_reduce_to_the_same_bits_as_the_in_process_backend()
    {
        // Values that round when added, at several magnitudes and in every floating-point type.
        static Tensor[] Inputs(int rank) =>
        [
            arange(1001, dtype: ScalarType.Float32).mul(0.37 * (rank + 1)).sin().mul(Math.Pow(10, rank)),
            arange(17, dtype: ScalarType.Float64).mul(1.1 + rank).cos().div(3 + rank),
            arange(33, dtype: ScalarType.Float32).mul(0.7 + rank).sin().to_type(ScalarType.Float16),
            arange(33, dtype: ScalarType.Float32).mul(0.9 + rank).cos().mul(100).to_type(ScalarType.BFloat16),
        ];

        foreach (var operation in new[] { ReduceOperation.Sum, ReduceOperation.Mean })
        {
            var gloo = await OnEveryRankAsync(2, collectives => Reduce(collectives, Inputs(collectives.Rank), operation));
            using var group = new InProcessCollectives(2);
            var inProcess = await Task.WhenAll(Enumerable.Range(0, 2).Select(rank => OnThread(() => Reduce(group.ForRank(rank), Inputs(rank), operation))));

            for (var rank = 0; rank < 2; rank++)
            {
                Assert.Equal(inProcess[rank], gloo[rank]);
            }
        }

        static byte[][] Reduce(ICollectives collectives, Tensor[] tensors, ReduceOperation operation)
        {
            collectives.AllReduce(tensors, operation);
            return [.. tensors.Select(t => t.bytes.ToArray())];
        }
    }

    [Fact]
    public async Task Three_ranks_get_the_same_bits_everywhere_summed_in_the_documented_ring_order()
    {
        // 12 float32 elements over 3 ranks: Gloo's ring makes 6 segments of 2 elements, chunk c = elements [4c, 4c + 4).
        static Tensor Input(int rank) => arange(12, dtype: ScalarType.Float32).mul(0.61 * (rank + 1)).sin().mul(Math.Pow(10, rank));

        var results = await OnEveryRankAsync(3, collectives =>
        {
            var values = Input(collectives.Rank);
            collectives.AllReduce([values], ReduceOperation.Sum);
            return values.bytes.ToArray();
        });

        Assert.Equal(results[0], results[1]);
        Assert.Equal(results[0], results[2]);
        // Chunk c sums x_c + (x_(c+1) + x_(c+2)), ranks modulo 3 (ICollectives and GlooCollectives say so).
        var x = Enumerable.Range(0, 3).Select(Input).ToArray();
        var expected = cat(Enumerable.Range(0, 3).Select(c => x[c].narrow(0, 4 * c, 4).add(x[(c + 1) % 3].narrow(0, 4 * c, 4).add(x[(c + 2) % 3].narrow(0, 4 * c, 4)))).ToList(), 0);
        Assert.Equal(expected.bytes.ToArray(), results[0]);
        // ... which is not the in-process backend's (x_0 + x_1) + x_2 for these values: the caveat is real.
        Assert.NotEqual(x[0].add(x[1]).add(x[2]).bytes.ToArray(), results[0]);
    }

    [Fact]
    public async Task Broadcast_copies_the_roots_tensors_into_every_ranks_and_barrier_and_any_meet_all_ranks()
    {
        var results = await OnEveryRankAsync(3, collectives =>
        {
            var r = collectives.Rank;
            var matrix = full([2, 3], (double)r, dtype: ScalarType.Float64);
            var columns = full([3, 2], (float)r).t();                       // non-contiguous (2, 3)
            var counts = tensor(new[] { (long)r, r * 10L });
            collectives.Broadcast([matrix, columns, counts], root: 2);
            collectives.Barrier();
            return new
            {
                Matrix = matrix.data<double>().ToArray(),
                Columns = columns.contiguous().data<float>().ToArray(),
                Counts = counts.data<long>().ToArray(),
                Any = collectives.Any(r == 1),
                None = collectives.Any(false),
            };
        });

        Assert.All(results, result =>
        {
            Assert.Equal(Enumerable.Repeat(2.0, 6), result.Matrix);
            Assert.Equal(Enumerable.Repeat(2f, 6), result.Columns);
            Assert.Equal([2L, 20L], result.Counts);
            Assert.True(result.Any);
            Assert.False(result.None);
        });
    }

    [Fact]
    public async Task All_gather_concatenates_in_rank_order_and_with_grad_gives_the_in_process_gradients()
    {
        // Rank r gathers r + 1 rows of [r, r]; all ranks get rows 0; 1, 1; without gradient.
        var gathered = await OnEveryRankAsync(2, collectives =>
        {
            var rows = full([collectives.Rank + 1, 2], (float)collectives.Rank).requires_grad_();
            var all = collectives.AllGather(rows);
            return (Shape: all.shape, Values: all.data<float>().ToArray(), all.requires_grad);
        });
        Assert.All(gathered, result =>
        {
            Assert.Equal([3L, 2L], result.Shape);
            Assert.Equal([0f, 0f, 1f, 1f, 1f, 1f], result.Values);
            Assert.False(result.requires_grad);
        });

        // The gradient of sum_k loss_k through every rank's gathered copy, as the in-process backend gives it.
        var weights = Enumerable.Range(0, 2).Select(k => arange(12, dtype: ScalarType.Float64).reshape(4, 3).mul(k + 1.5)).ToArray();
        double[] Gradient(ICollectives collectives)
        {
            var x = full([2, 3], collectives.Rank + 0.25, dtype: ScalarType.Float64).requires_grad_();
            collectives.AllGatherWithGrad(x).mul(weights[collectives.Rank]).sum().backward();
            return x.grad!.data<double>().ToArray();
        }

        var gloo = await OnEveryRankAsync(2, Gradient);
        using var group = new InProcessCollectives(2);
        var inProcess = await Task.WhenAll(Enumerable.Range(0, 2).Select(rank => OnThread(() => Gradient(group.ForRank(rank)))));
        Assert.Equal(inProcess, gloo);
        Assert.Equal(weights[0].narrow(0, 2, 2).add(weights[1].narrow(0, 2, 2)).data<double>().ToArray(), gloo[1]);
    }

    [Fact]
    public async Task A_world_of_one_rank_returns_its_own_tensors()
    {
        var result = (await OnEveryRankAsync(1, collectives =>
        {
            var values = tensor(new[] { 1.5f, -2f });
            var copy = tensor(new[] { 3.0 });
            collectives.AllReduce([values], ReduceOperation.Mean);
            collectives.Broadcast([copy], root: 0);
            collectives.Barrier();
            var gathered = collectives.AllGather(tensor(new[] { 4L, 5L }).reshape(2, 1));
            return (Values: values.data<float>().ToArray(), Copy: copy.data<double>().ToArray(), Gathered: gathered.data<long>().ToArray(), Any: collectives.Any(true));
        })).Single();

        Assert.Equal([1.5f, -2f], result.Values);
        Assert.Equal([3.0], result.Copy);
        Assert.Equal([4L, 5L], result.Gathered);
        Assert.True(result.Any);
    }

    [Fact]
    public async Task A_rank_whose_peer_never_joins_times_out_naming_the_missing_key()
    {
        var options = new GlooOptions { JoinTimeout = TimeSpan.FromSeconds(1), CollectiveTimeout = CollectiveTimeout };
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<TimeoutException>(() =>
            GlooCollectives.ConnectAsync(0, 2, new InMemoryRendezvousStore(), options, CancellationToken.None));

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1) + FailFastBound);
        Assert.Contains("rendezvous key 'gloo/1'", error.Message);
        Assert.StartsWith("Gloo rank 0 of 2 (bound to 127.0.0.1) did not meet its peers within the join timeout of 1 s", error.Message);
    }

    [Fact]
    public async Task A_peer_that_leaves_mid_collective_fails_the_waiting_rank_at_once()
    {
        var ranks = await ConnectAsync(2);
        using var survivor = ranks[0];
        var waiting = OnThread(() => survivor.AllReduce([ones(4)], ReduceOperation.Sum));
        await Task.Delay(200);
        var clock = Stopwatch.StartNew();

        ranks[1].Dispose();

        var error = await Assert.ThrowsAsync<CollectiveFailedException>(() => waiting);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, FailFastBound);
        Assert.StartsWith("Gloo all-reduce failed on rank 0 of 2: [./gloo/transport/tcp/pair.cc:598] Connection closed by peer", error.Message);
        var later = Assert.Throws<CollectiveFailedException>(survivor.Barrier);
        Assert.Contains("failed earlier", later.Message);
    }

    [Fact]
    public async Task Abort_releases_the_aborting_rank_at_once_and_fails_its_peer_instead_of_hanging()
    {
        var ranks = await ConnectAsync(2);
        using var aborting = ranks[0];
        using var peer = ranks[1];
        var waiting = OnThread(aborting.Barrier);
        await Task.Delay(200);
        var clock = Stopwatch.StartNew();

        aborting.Abort();

        var released = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal("Gloo barrier on rank 0 of 2 was aborted: the collectives group was aborted on this rank", released.Message);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, FailFastBound);
        Assert.True(aborting.Aborted.IsCancellationRequested);
        Assert.ThrowsAny<OperationCanceledException>(() => aborting.Any(true));

        clock.Restart();
        var error = Assert.Throws<CollectiveFailedException>(() => peer.AllReduce([ones(4)], ReduceOperation.Sum));
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, FailFastBound);
        Assert.StartsWith("Gloo all-reduce failed on rank 1 of 2: [./gloo/transport/tcp/pair.cc:598] Connection closed by peer", error.Message);
    }

    [Fact]
    public async Task A_peer_that_stays_but_never_calls_fails_the_collective_after_the_collective_timeout()
    {
        var ranks = await ConnectAsync(2, TimeSpan.FromSeconds(1));
        using var waiting = ranks[0];
        using var idle = ranks[1];
        var clock = Stopwatch.StartNew();

        var error = Assert.Throws<CollectiveFailedException>(() => waiting.AllReduce([ones(4)], ReduceOperation.Sum));

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1) + FailFastBound);
        Assert.Contains("Timed out waiting 1000ms", error.Message);
    }

    private static async Task<GlooCollectives[]> ConnectAsync(int worldSize, TimeSpan? collectiveTimeout = null)
    {
        var store = new InMemoryRendezvousStore();
        var options = new GlooOptions { JoinTimeout = TimeSpan.FromSeconds(20), CollectiveTimeout = collectiveTimeout ?? CollectiveTimeout };
        return await Task.WhenAll(Enumerable.Range(0, worldSize).Select(rank => GlooCollectives.ConnectAsync(rank, worldSize, store, options, CancellationToken.None)));
    }

    private static async Task<T[]> OnEveryRankAsync<T>(int worldSize, Func<ICollectives, T> body)
    {
        var ranks = await ConnectAsync(worldSize);
        try
        {
            return await Task.WhenAll(ranks.Select(rank => OnThread(() => body(rank))));
        }
        finally
        {
            foreach (var rank in ranks)
            {
                rank.Dispose();
            }
        }
    }

    private static Task<T> OnThread<T>(Func<T> body) =>
        Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static Task OnThread(Action body) =>
        Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
}
