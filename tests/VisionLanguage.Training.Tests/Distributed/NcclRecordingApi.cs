using Microsoft.Extensions.Time.Testing;
using VisionLanguage.Training.Distributed;
using VisionLanguage.Training.Distributed.Nccl;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Tests.Distributed;

/// <summary>
/// A stand-in for NCCL and the CUDA runtime that records every call, in order, with the arguments that matter, and
/// answers as a nonblocking communicator would. Tensors are CPU tensors: their pointers come from the real
/// <c>THSTensor_data</c>, and NCCL never touches them.
/// </summary>
internal sealed class NcclRecordingApi(FakeTimeProvider time) : INcclApi
{
    public const nint Comm = 0x1234;

    private readonly Lock _log = new();
    private int _initPollsLeft;
    private int _busyLeft;
    private bool _groupEnqueued;

    /// <summary>The calls so far, each as a line; the store's calls too when it is <see cref="Store"/>.</summary>
    public List<string> Calls { get; } = [];

    /// <summary>The id <c>ncclGetUniqueId</c> hands rank 0.</summary>
    public NcclUniqueId CreatedId { get; } = NcclUniqueId.FromBytes([.. Enumerable.Range(0, NcclUniqueId.Size).Select(i => (byte)(i * 7))]);

    /// <summary>The id and config the communicator was formed with.</summary>
    public (NcclUniqueId Id, NcclConfig Config)? Joined { get; private set; }

    /// <summary>How many polls after <c>ncclCommInitRankConfig</c> still report <see cref="NcclResult.InProgress"/>.</summary>
    public int InitInProgressPolls { get; init; } = 2;

    /// <summary>How far each <c>ncclCommGetAsyncError</c> moves the clock.</summary>
    public TimeSpan AsyncErrorPollTakes { get; init; } = TimeSpan.Zero;

    /// <summary>How many stream queries after each group report "not ready" before the stream is idle; -1: never idle.</summary>
    public int StreamBusyQueries { get; set; } = 1;

    /// <summary>How far each stream query moves the clock.</summary>
    public TimeSpan StreamQueryTakes { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>The asynchronous error NCCL reports once a group has been enqueued; <see cref="NcclResult.Success"/> for none.</summary>
    public NcclResult AsyncErrorAfterGroup { get; set; } = NcclResult.Success;

    /// <summary>Runs at each stream query that reports "not ready": a test's chance to act while a rank waits.</summary>
    public Action? WhileStreamBusy { get; set; }

    /// <summary>The managed threads that called <c>ncclCommAbort</c>.</summary>
    public List<int> AbortThreads { get; } = [];

    public Device Device => CPU;

    public IRendezvousStore Store(IRendezvousStore inner) => new RecordingStore(inner, this);

    public NcclResult GetVersion(out int version)
    {
        Record("GetVersion");
        version = 22809;
        return NcclResult.Success;
    }

    public NcclResult GetUniqueId(out NcclUniqueId uniqueId)
    {
        Record("GetUniqueId");
        uniqueId = CreatedId;
        return NcclResult.Success;
    }

    public NcclResult CommInitRankConfig(out nint comm, int worldSize, NcclUniqueId uniqueId, int rank, ref NcclConfig config)
    {
        Record($"CommInitRankConfig(world {worldSize}, rank {rank}, size {config.StructSize}, magic {config.Magic:x}, version {config.Version}, blocking {config.Blocking})");
        Joined = (uniqueId, config);
        _initPollsLeft = InitInProgressPolls;
        comm = Comm;
        return NcclResult.InProgress;
    }

    public NcclResult AllReduce(nint send, nint receive, nuint count, NcclDataType dataType, NcclRedOp operation, nint comm, nint stream)
    {
        Record($"AllReduce({Where(send, receive)}, count {count}, {dataType}, {operation}, comm {comm:x}, stream {stream})");
        return NcclResult.Success;
    }

    public NcclResult Broadcast(nint send, nint receive, nuint count, NcclDataType dataType, int root, nint comm, nint stream)
    {
        Record($"Broadcast({Where(send, receive)}, count {count}, {dataType}, root {root}, comm {comm:x}, stream {stream})");
        return NcclResult.Success;
    }

    public NcclResult AllGather(nint send, nint receive, nuint sendCount, NcclDataType dataType, nint comm, nint stream)
    {
        Record($"AllGather(count {sendCount}, {dataType}, comm {comm:x}, stream {stream})");
        return NcclResult.Success;
    }

    public NcclResult GroupStart()
    {
        Record("GroupStart");
        return NcclResult.Success;
    }

    public NcclResult GroupEnd()
    {
        Record("GroupEnd");
        _groupEnqueued = true;
        _busyLeft = StreamBusyQueries;
        return NcclResult.Success;
    }

    public NcclResult CommGetAsyncError(nint comm, out NcclResult asyncError)
    {
        time.Advance(AsyncErrorPollTakes);
        asyncError = _initPollsLeft-- > 0 ? NcclResult.InProgress : _groupEnqueued ? AsyncErrorAfterGroup : NcclResult.Success;
        Record($"CommGetAsyncError -> {asyncError}");
        return NcclResult.Success;
    }

    public NcclResult CommFinalize(nint comm)
    {
        Record("CommFinalize");
        return NcclResult.InProgress;
    }

    public NcclResult CommDestroy(nint comm)
    {
        Record("CommDestroy");
        return NcclResult.Success;
    }

    public NcclResult CommAbort(nint comm)
    {
        Record("CommAbort");
        lock (_log)
        {
            AbortThreads.Add(Environment.CurrentManagedThreadId);
        }

        return NcclResult.Success;
    }

    public string GetErrorString(NcclResult result) => result == NcclResult.RemoteError
        ? "remote process exited or there was a network error"
        : $"error string of {result}";

    public string GetLastError(nint comm) => _groupEnqueued && AsyncErrorAfterGroup != NcclResult.Success ? "peer 1 closed the connection" : "";

    public int StreamQuery(nint stream)
    {
        time.Advance(StreamQueryTakes);
        var busy = _busyLeft != 0;
        if (_busyLeft > 0)
        {
            _busyLeft--;
        }

        Record($"StreamQuery({stream}) -> {(busy ? "not ready" : "done")}");
        if (busy)
        {
            WhileStreamBusy?.Invoke();
            return 600;
        }

        return 0;
    }

    public string CudaErrorString(int error) => $"CUDA error {error}";

    public nint DevicePointer(Tensor tensor) => NativeNcclApi.DataPointer(tensor);

    /// <summary>The calls from the first that starts with <paramref name="prefix"/> on.</summary>
    public List<string> CallsFrom(string prefix)
    {
        lock (_log)
        {
            return [.. Calls.SkipWhile(call => !call.StartsWith(prefix, StringComparison.Ordinal))];
        }
    }

    private static string Where(nint send, nint receive) => send == receive ? $"in place at {send:x}" : $"{send:x} -> {receive:x}";

    private void Record(string call)
    {
        lock (_log)
        {
            Calls.Add(call);
        }
    }

    private sealed class RecordingStore(IRendezvousStore inner, NcclRecordingApi api) : IRendezvousStore
    {
        public Task SetAsync(string key, byte[] value, CancellationToken cancellationToken)
        {
            api.Record($"store.Set({key}, {value.Length} bytes)");
            return inner.SetAsync(key, value, cancellationToken);
        }

        public Task<byte[]> GetAsync(string key, TimeSpan timeout, CancellationToken cancellationToken)
        {
            api.Record($"store.Get({key})");
            return inner.GetAsync(key, timeout, cancellationToken);
        }
    }
}
