using Microsoft.Extensions.Time.Testing;
using VisionLanguage.Training.Distributed;
using VisionLanguage.Training.Distributed.Nccl;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Tests.Distributed;

/// <summary>
/// The NCCL backend's calls, in order, through a recording stand-in for NCCL and the CUDA runtime: the rendezvous and the
/// nonblocking join, grouped collectives on the default stream, and the watchdog's abort on an error, a timeout or a
/// request. What only a GPU can show (NCCL's own behaviour) is in the GPU check (tools/GpuCheck).
/// </summary>
public sealed class NcclCollectivesTests
{
    private static readonly NcclOptions Options = new() { JoinTimeout = TimeSpan.FromSeconds(5), CollectiveTimeout = TimeSpan.FromSeconds(10) };

    private readonly FakeTimeProvider _time = new();
    private readonly NcclRecordingApi _api;

    public NcclCollectivesTests() => _api = new NcclRecordingApi(_time);

    [Fact]
    public async Task Rank_0_creates_and_publishes_the_unique_id_then_joins_nonblocking_polling_while_in_progress()
    {
        var store = new InMemoryRendezvousStore();

        using var collectives = await ConnectAsync(rank: 0, worldSize: 2, store);

        Assert.Equal(
            [
                "GetVersion",
                "GetUniqueId",
                "store.Set(nccl/unique-id, 128 bytes)",
                "CommInitRankConfig(world 2, rank 0, size 24, magic cafebeef, version 21400, blocking 0)",
                "CommGetAsyncError -> InProgress",
                "CommGetAsyncError -> InProgress",
                "CommGetAsyncError -> Success",
            ],
            _api.Calls);
        Assert.Equal(_api.CreatedId.ToArray(), await store.GetAsync("nccl/unique-id", TimeSpan.Zero, CancellationToken.None));
        Assert.Equal(_api.CreatedId, _api.Joined!.Value.Id);
        Assert.Equal((0, 2), (collectives.Rank, collectives.WorldSize));
    }

    [Fact]
    public async Task Another_rank_reads_the_unique_id_from_the_store_and_joins_with_it()
    {
        var store = new InMemoryRendezvousStore();
        var published = Enumerable.Range(0, 128).Select(i => (byte)(200 - i)).ToArray();
        await store.SetAsync("nccl/unique-id", published, CancellationToken.None);

        using var collectives = await ConnectAsync(rank: 1, worldSize: 2, store);

        Assert.Equal(
            [
                "GetVersion",
                "store.Get(nccl/unique-id)",
                "CommInitRankConfig(world 2, rank 1, size 24, magic cafebeef, version 21400, blocking 0)",
                "CommGetAsyncError -> InProgress",
                "CommGetAsyncError -> InProgress",
                "CommGetAsyncError -> Success",
            ],
            _api.Calls);
        Assert.Equal(published, _api.Joined!.Value.Id.ToArray());
    }

    [Fact]
    public async Task A_unique_id_of_the_wrong_length_is_refused_before_nccl_sees_it()
    {
        var store = new InMemoryRendezvousStore();
        await store.SetAsync("nccl/unique-id", new byte[64], CancellationToken.None);

        var refused = await Assert.ThrowsAsync<InvalidDataException>(() => ConnectAsync(rank: 1, worldSize: 2, store));

        Assert.Contains("'nccl/unique-id' holds 64 bytes", refused.Message, StringComparison.Ordinal);
        Assert.Contains("128", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_api.Calls, call => call.StartsWith("CommInitRankConfig", StringComparison.Ordinal));
    }

    [Fact]
    public async Task All_reduce_enqueues_every_tensor_in_one_group_on_the_default_stream_then_waits_for_the_stream()
    {
        using var collectives = await ConnectAsync(rank: 0, worldSize: 2, new InMemoryRendezvousStore());
        using var gradients = zeros(2, 3);
        using var counts = zeros([5], dtype: int64);

        collectives.AllReduce([gradients, counts], ReduceOperation.Mean);
        var mean = _api.CallsFrom("GroupStart");
        collectives.AllReduce([gradients], ReduceOperation.Sum);

        Assert.Equal(
            [
                "GroupStart",
                $"AllReduce(in place at {Pointer(gradients)}, count 6, Float32, Avg, comm 1234, stream 0)",
                $"AllReduce(in place at {Pointer(counts)}, count 5, Int64, Avg, comm 1234, stream 0)",
                "GroupEnd",
                "CommGetAsyncError -> Success",
                "StreamQuery(0) -> not ready",
                "CommGetAsyncError -> Success",
                "StreamQuery(0) -> done",
            ],
            mean);
        Assert.Contains($"AllReduce(in place at {Pointer(gradients)}, count 6, Float32, Sum, comm 1234, stream 0)", _api.CallsFrom("GroupStart").Skip(mean.Count));
    }

    [Fact]
    public async Task Broadcast_all_gather_barrier_and_any_each_run_as_one_group()
    {
        using var collectives = await ConnectAsync(rank: 1, worldSize: 3, await StoreWithIdAsync());
        using var parameters = ones(4, dtype: bfloat16);
        using var rows = ones(2, 5, dtype: float16);
        var joined = _api.Calls.Count;

        collectives.Broadcast([parameters], root: 0);
        using var gathered = collectives.AllGather(rows.t());   // not contiguous: gathered from a contiguous copy
        collectives.Barrier();
        var any = collectives.Any(true);

        var enqueued = _api.Calls.Skip(joined).Where(call => !call.StartsWith("CommGetAsyncError", StringComparison.Ordinal) && !call.StartsWith("StreamQuery", StringComparison.Ordinal));
        Assert.Equal(
            [
                "GroupStart", $"Broadcast(in place at {Pointer(parameters)}, count 4, Bfloat16, root 0, comm 1234, stream 0)", "GroupEnd",
                "GroupStart", "AllGather(count 10, Float16, comm 1234, stream 0)", "GroupEnd",
                "GroupStart", "AllReduce(count 1, Float32, Sum, comm 1234, stream 0)", "GroupEnd",
                "GroupStart", "AllReduce(count 1, Int32, Max, comm 1234, stream 0)", "GroupEnd",
            ],
            enqueued.Select(call => System.Text.RegularExpressions.Regex.Replace(call, @"in place at [0-9a-f]+, (count 1,)", "$1")));
        Assert.Equal([15L, 2], gathered.shape);                   // (ranks·rows, columns)
        Assert.True(any);
    }

    [Fact]
    public async Task An_asynchronous_error_aborts_the_communicator_and_fails_with_ncclls_words()
    {
        using var collectives = await ConnectAsync(rank: 0, worldSize: 2, new InMemoryRendezvousStore());
        _api.AsyncErrorAfterGroup = NcclResult.RemoteError;
        using var gradients = zeros(8);

        var failed = Assert.Throws<CollectiveFailedException>(() => collectives.AllReduce([gradients], ReduceOperation.Mean));

        Assert.Contains("RemoteError (remote process exited or there was a network error; last error: peer 1 closed the connection)", failed.Message, StringComparison.Ordinal);
        Assert.Contains("rank 0 of 2", failed.Message, StringComparison.Ordinal);
        Assert.Equal(["GroupEnd", "CommGetAsyncError -> RemoteError", "CommAbort"], _api.CallsFrom("GroupEnd"));
        Assert.True(collectives.Aborted.IsCancellationRequested);

        var calls = _api.Calls.Count;
        var later = Assert.Throws<CollectiveFailedException>(() => collectives.Barrier());
        Assert.Contains("was not started", later.Message, StringComparison.Ordinal);
        Assert.Equal(calls, _api.Calls.Count);
        collectives.Dispose();
        Assert.Single(_api.Calls, "CommAbort");
    }

    [Fact]
    public async Task A_stream_that_never_finishes_is_aborted_once_the_collective_timeout_passes()
    {
        using var collectives = await ConnectAsync(rank: 0, worldSize: 2, new InMemoryRendezvousStore());
        _api.StreamBusyQueries = -1;
        _api.StreamQueryTakes = TimeSpan.FromSeconds(1);
        using var gradients = zeros(8);

        var failed = Assert.Throws<CollectiveFailedException>(() => collectives.AllReduce([gradients], ReduceOperation.Mean));

        Assert.Contains("did not finish within 10 s (kernels still running on the default stream)", failed.Message, StringComparison.Ordinal);
        Assert.Contains("NcclOptions.CollectiveTimeout", failed.Message, StringComparison.Ordinal);
        Assert.Equal(10, _api.Calls.Count(call => call == "StreamQuery(0) -> not ready"));
        Assert.Equal("CommAbort", _api.Calls[^1]);
        Assert.True(collectives.Aborted.IsCancellationRequested);
    }

    [Fact]
    public async Task Abort_from_another_thread_is_carried_out_by_the_waiting_thread_alone()
    {
        using var collectives = await ConnectAsync(rank: 0, worldSize: 2, new InMemoryRendezvousStore());
        _api.StreamBusyQueries = -1;
        _api.StreamQueryTakes = TimeSpan.Zero;
        Task? aborting = null;
        _api.WhileStreamBusy = () => aborting ??= Task.Run(collectives.Abort);
        using var gradients = zeros(8);

        var waiter = Environment.CurrentManagedThreadId;
        var cancelled = Assert.Throws<OperationCanceledException>(() => collectives.AllReduce([gradients], ReduceOperation.Mean));
        await aborting!;

        Assert.Contains("aborted", cancelled.Message, StringComparison.Ordinal);
        Assert.Equal([waiter], _api.AbortThreads);
        Assert.True(collectives.Aborted.IsCancellationRequested);
        Assert.Throws<OperationCanceledException>(() => collectives.Barrier());
        Assert.Single(_api.AbortThreads);
    }

    [Fact]
    public async Task Abort_with_no_collective_running_aborts_the_communicator_at_once()
    {
        using var collectives = await ConnectAsync(rank: 0, worldSize: 2, new InMemoryRendezvousStore());

        collectives.Abort();

        Assert.Equal("CommAbort", _api.Calls[^1]);
        Assert.True(collectives.Aborted.IsCancellationRequested);
        collectives.Dispose();
        Assert.Single(_api.Calls, "CommAbort");
    }

    [Fact]
    public async Task Disposing_a_healthy_communicator_finalises_it_then_destroys_it()
    {
        var collectives = await ConnectAsync(rank: 0, worldSize: 2, new InMemoryRendezvousStore());

        collectives.Dispose();

        Assert.Equal(["CommFinalize", "CommGetAsyncError -> Success", "CommDestroy"], _api.CallsFrom("CommFinalize"));
    }

    [Fact]
    public async Task A_join_that_never_completes_is_aborted_at_the_join_timeout()
    {
        var api = new NcclRecordingApi(_time) { InitInProgressPolls = int.MaxValue, AsyncErrorPollTakes = TimeSpan.FromMilliseconds(500) };

        var failed = await Assert.ThrowsAsync<CollectiveFailedException>(
            () => NcclCollectives.ConnectAsync(0, 2, new InMemoryRendezvousStore(), Options, api, _time, CancellationToken.None));

        Assert.Contains("joining the NCCL communicator", failed.Message, StringComparison.Ordinal);
        Assert.Contains("did not finish within 5 s (NCCL still in progress)", failed.Message, StringComparison.Ordinal);
        Assert.Equal(10, api.Calls.Count(call => call == "CommGetAsyncError -> InProgress"));
        Assert.Equal("CommAbort", api.Calls[^1]);
    }

    private Task<NcclCollectives> ConnectAsync(int rank, int worldSize, IRendezvousStore store) =>
        NcclCollectives.ConnectAsync(rank, worldSize, _api.Store(store), Options, _api, _time, CancellationToken.None);

    private async Task<IRendezvousStore> StoreWithIdAsync()
    {
        var store = new InMemoryRendezvousStore();
        await store.SetAsync("nccl/unique-id", _api.CreatedId.ToArray(), CancellationToken.None);
        return store;
    }

    private static string Pointer(Tensor tensor) => $"{NativeNcclApi.DataPointer(tensor):x}";
}
