using static TorchSharp.torch;

namespace VisionLanguage.Training.Distributed.Nccl;

/// <summary>
/// The collectives among processes with one GPU each, by NCCL (called by P/Invoke on the tensors' device memory).
/// Every collective is enqueued on the legacy default CUDA stream (stream 0), the one all of TorchSharp's kernels run
/// on since it has no stream API: NCCL's kernels run after the backward pass that wrote the gradients and before the
/// optimiser step that reads them, with no event or host synchronisation. Several tensors go in one
/// <c>ncclGroupStart</c>/<c>ncclGroupEnd</c>.
/// </summary>
/// <remarks>
/// NCCL has no timeout: a lost peer leaves the others waiting for ever. So the communicator is nonblocking, and after
/// enqueueing, the calling thread watches the stream (<c>cudaStreamQuery</c>), NCCL's asynchronous error and this
/// group's abort flag until the collective is done or <see cref="NcclOptions.CollectiveTimeout"/> has passed; on an
/// error or timeout it aborts the communicator (<c>ncclCommAbort</c>) and throws
/// <see cref="CollectiveFailedException"/>, and the gang restarts from its last checkpoint. NCCL forbids two threads
/// calling into one communicator at once: every call into it holds <see cref="_gate"/>, and
/// <see cref="Abort"/> aborts the communicator itself only when no collective holds the gate (otherwise that collective's
/// wait loop does). docs/decisions/nccl-backend.md.
/// </remarks>
public sealed partial class NcclCollectives : ICollectives, IDisposable
{
    /// <summary>The legacy default CUDA stream, on which TorchSharp (libtorch's current stream) runs everything.</summary>
    internal const nint DefaultStream = 0;

    /// <summary>The first NCCL with <c>ncclConfig_t</c>'s <c>blocking</c> field (2.14.0), which safe aborts need.</summary>
    internal const int MinimumVersion = 21400;

    private const int CudaSuccess = 0;
    private const int CudaErrorNotReady = 600;

    private readonly INcclApi _api;
    private readonly TimeProvider _time;
    private readonly NcclOptions _options;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _aborted = new();
    private readonly nint _comm;
    private volatile bool _abortRequested;
    private volatile bool _disposed;
    private bool _commGone;
    private string? _failure;

    private NcclCollectives(int rank, int worldSize, nint comm, INcclApi api, TimeProvider time, NcclOptions options)
    {
        Rank = rank;
        WorldSize = worldSize;
        _comm = comm;
        _api = api;
        _time = time;
        _options = options;
    }

    public int Rank { get; }

    public int WorldSize { get; }

    public CancellationToken Aborted => _aborted.Token;

    public void AllReduce(IReadOnlyList<Tensor> tensors, ReduceOperation operation) =>
        AllReduce(tensors, operation == ReduceOperation.Mean ? NcclRedOp.Avg : NcclRedOp.Sum, $"all-reduce ({operation})");

    public Tensor AllGather(Tensor tensor)
    {
        if (tensor.dim() == 0)
        {
            throw new ArgumentException("all-gather concatenates along the first dimension, but the tensor is a scalar: give it shape [1]", nameof(tensor));
        }

        using var noGrad = no_grad();
        using var detached = tensor.detach();
        using var send = detached.contiguous();
        var shape = tensor.shape.ToArray();
        shape[0] *= WorldSize;                                            // (world·rows, ...)
        var gathered = empty(shape, tensor.dtype, tensor.device);
        try
        {
            var source = Buffer(send, "the all-gather's input");
            var target = Buffer(gathered, "the all-gather's output");
            Collective(
                "all-gather", "ncclAllGather", 1, _ => _api.AllGather(source.Pointer, target.Pointer, source.Count, source.Type, _comm, DefaultStream));
            GC.KeepAlive(send);
            return gathered;
        }
        catch
        {
            gathered.Dispose();
            throw;
        }
    }

    public Tensor AllGatherWithGrad(Tensor tensor) => GatherWithGrad.Apply(this, tensor);

    public void Broadcast(IReadOnlyList<Tensor> tensors, int root)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, WorldSize);
        var buffers = Buffers(tensors);
        Collective(
            $"broadcast from rank {root}",
            "ncclBroadcast",
            buffers.Length,
            i => _api.Broadcast(buffers[i].Pointer, buffers[i].Pointer, buffers[i].Count, buffers[i].Type, root, _comm, DefaultStream));
        GC.KeepAlive(tensors);
    }

    public void Barrier()
    {
        using var token = zeros([1], ScalarType.Float32, _api.Device);
        AllReduce([token], NcclRedOp.Sum, "barrier");
    }

    public bool Any(bool flag)
    {
        using var vote = full([1], flag ? 1 : 0, ScalarType.Int32, _api.Device);
        AllReduce([vote], NcclRedOp.Max, "any");
        return vote.item<int>() != 0;
    }

    /// <summary>
    /// Aborts the group: <see cref="Aborted"/> is cancelled, a collective waiting on this rank aborts the communicator
    /// and throws <see cref="OperationCanceledException"/>, and every later collective throws the same. Callable from
    /// any thread.
    /// </summary>
    public void Abort()
    {
        if (_disposed)
        {
            return;
        }

        _abortRequested = true;
        try
        {
            _aborted.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Dispose ran between the check above and here: the communicator is released, there is nothing to abort.
            return;
        }

        AbortIfRequested();
    }

    /// <summary>
    /// Releases the communicator: a healthy one is finalised (its pending work flushed, within the collective timeout)
    /// and destroyed; a failed or aborted one is already gone. Throws <see cref="CollectiveFailedException"/> only when
    /// finalising a healthy communicator fails, after aborting it.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            try
            {
                if (!_commGone && (_failure is not null || _abortRequested))
                {
                    AbortCommunicator(_failure ?? "the group was aborted");
                }
                else if (!_commGone)
                {
                    var finalised = _api.CommFinalize(_comm);
                    if (finalised is not (NcclResult.Success or NcclResult.InProgress))
                    {
                        Fail("finalising the NCCL communicator", $"ncclCommFinalize returned {Describe(finalised)}");
                    }

                    Wait("finalising the NCCL communicator", onStream: false, _options.CollectiveTimeout, CancellationToken.None);
                    _api.CommDestroy(_comm);
                    _commGone = true;
                }
            }
            finally
            {
                _aborted.Dispose();
            }
        }
    }

    private void AllReduce(IReadOnlyList<Tensor> tensors, NcclRedOp operation, string what)
    {
        var buffers = Buffers(tensors);
        Collective(
            what,
            "ncclAllReduce",
            buffers.Length,
            i => _api.AllReduce(buffers[i].Pointer, buffers[i].Pointer, buffers[i].Count, buffers[i].Type, operation, _comm, DefaultStream));
        GC.KeepAlive(tensors);
    }

    /// <summary>
    /// Enqueues <paramref name="count"/> calls of <paramref name="call"/> in one NCCL group on the default stream, then
    /// waits for them under the watchdog; only ever one thread at a time in here.
    /// </summary>
    private void Collective(string what, string call, int count, Func<int, NcclResult> enqueue)
    {
        if (count == 0)
        {
            return;
        }

        lock (_gate)
        {
            ThrowIfUnusable(what);
            var started = _api.GroupStart();
            if (started != NcclResult.Success)
            {
                Fail(what, $"ncclGroupStart returned {Describe(started)}");
            }

            string? enqueueError = null;
            for (var i = 0; i < count && enqueueError is null; i++)
            {
                var enqueued = enqueue(i);
                if (enqueued is not (NcclResult.Success or NcclResult.InProgress))
                {
                    enqueueError = $"{call} of tensor {i} returned {Describe(enqueued)}";
                }
            }

            // Always close the group: NCCL's group depth is per thread, and an open one would swallow the next call.
            var ended = _api.GroupEnd();
            if (enqueueError is not null)
            {
                Fail(what, enqueueError);
            }

            if (ended is not (NcclResult.Success or NcclResult.InProgress))
            {
                Fail(what, $"ncclGroupEnd returned {Describe(ended)}");
            }

            Wait(what, onStream: true, _options.CollectiveTimeout, CancellationToken.None);
        }

        AbortIfRequested();
    }

    /// <summary>
    /// The watchdog: polls NCCL's asynchronous error (and, for work on the stream, <c>cudaStreamQuery</c>) until the
    /// communicator is ready and the stream idle, aborting the communicator on an error, an abort request, a cancelled
    /// <paramref name="cancellationToken"/> or when <paramref name="timeout"/> passes. The caller holds the gate.
    /// </summary>
    private void Wait(string what, bool onStream, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = _time.GetTimestamp();
        var spin = default(SpinWait);
        while (true)
        {
            if (_abortRequested || cancellationToken.IsCancellationRequested)
            {
                AbortCommunicator($"the group was aborted during {what}");
                throw new OperationCanceledException(
                    $"{what} was abandoned: the group was aborted", _abortRequested ? _aborted.Token : cancellationToken);
            }

            var queried = _api.CommGetAsyncError(_comm, out var state);
            if (queried != NcclResult.Success)
            {
                Fail(what, $"ncclCommGetAsyncError returned {Describe(queried)}");
            }

            if (state is not (NcclResult.Success or NcclResult.InProgress))
            {
                Fail(what, $"NCCL reported an asynchronous error, {Describe(state)}");
            }

            if (state == NcclResult.Success)
            {
                if (!onStream)
                {
                    return;
                }

                var stream = _api.StreamQuery(DefaultStream);
                if (stream == CudaSuccess)
                {
                    return;
                }

                if (stream != CudaErrorNotReady)
                {
                    Fail(what, $"cudaStreamQuery on the default stream returned CUDA error {stream} ({_api.CudaErrorString(stream)})");
                }
            }

            var elapsed = _time.GetElapsedTime(start);
            if (elapsed >= timeout)
            {
                Fail(
                    what,
                    $"it did not finish within {timeout.TotalSeconds:0.###} s ({(state == NcclResult.InProgress ? "NCCL still in progress" : "kernels still running on the default stream")}): " +
                    "a rank is missing, hung or much slower; if the collective is merely long, raise NcclOptions.CollectiveTimeout");
            }

            spin.SpinOnce(sleep1Threshold: 64);
        }
    }

    /// <summary>Aborts the communicator, then throws <see cref="CollectiveFailedException"/>. The caller holds the gate.</summary>
    private void Fail(string what, string reason)
    {
        var message = $"NCCL {what} on rank {Rank} of {WorldSize} failed: {reason}. The communicator is aborted; the gang's " +
            "generation is over and restarts from its last checkpoint";
        AbortCommunicator(message);
        throw new CollectiveFailedException(message);
    }

    /// <summary>Aborts the communicator once and cancels <see cref="Aborted"/>. The caller holds the gate.</summary>
    private void AbortCommunicator(string reason)
    {
        _failure ??= reason;
        if (!_commGone)
        {
            _commGone = true;
            _api.CommAbort(_comm);
        }

        if (!_disposed)
        {
            _aborted.Cancel();
        }
    }

    /// <summary>
    /// Aborts the communicator when <see cref="Abort"/> asked for it and no collective holds the gate; a collective that
    /// does hold it sees the request in its wait loop, or here after it lets go. Called after every release, so a
    /// request made while the gate was held is never lost.
    /// </summary>
    private void AbortIfRequested()
    {
        if (!_abortRequested || !_gate.TryEnter())
        {
            return;
        }

        try
        {
            if (!_disposed)
            {
                AbortCommunicator("the group was aborted");
            }
        }
        finally
        {
            _gate.Exit();
        }
    }

    private void ThrowIfUnusable(string what)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_abortRequested)
        {
            AbortCommunicator("the group was aborted");
            throw new OperationCanceledException($"{what} was not started: the group was aborted", _aborted.Token);
        }

        if (_failure is not null)
        {
            throw new CollectiveFailedException(
                $"NCCL {what} on rank {Rank} was not started: the communicator was aborted earlier ({_failure})");
        }
    }

    private NcclBuffer[] Buffers(IReadOnlyList<Tensor> tensors) =>
        [.. tensors.Select((tensor, i) => Buffer(tensor, $"tensor {i}"))];

    private NcclBuffer Buffer(Tensor tensor, string name)
    {
        try
        {
            return new NcclBuffer(_api.DevicePointer(tensor), (nuint)tensor.numel(), NcclDataTypes.For(tensor.dtype));
        }
        catch (Exception exception) when (exception is ArgumentException or NotSupportedException)
        {
            throw new ArgumentException($"{name} of an NCCL collective on rank {Rank}: {exception.Message}", nameof(tensor), exception);
        }
    }

    private string Describe(NcclResult result) => Describe(_api, result, _comm);

    private static string Describe(INcclApi api, NcclResult result, nint comm)
    {
        var lastError = api.GetLastError(comm);
        return $"{result} ({api.GetErrorString(result)}{(lastError.Length > 0 ? $"; last error: {lastError}" : "")})";
    }

    /// <summary>A tensor's memory as NCCL sees it: address, element count and element type.</summary>
    private readonly record struct NcclBuffer(nint Pointer, nuint Count, NcclDataType Type);
}
