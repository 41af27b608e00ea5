using System.Diagnostics;
using System.Text.Json.Nodes;
using VisionLanguage.Training.Distributed.Nccl;

namespace GpuCheck;

/// <summary>
/// NCCL on device memory from <c>cudaMalloc</c>, without TorchSharp: what the backend does (nonblocking init polled
/// while in progress, a group on stream 0, the watchdog's polls, abort) through the same <see cref="INcclApi"/>
/// production code uses, so it can be checked whatever TorchSharp's ABI does on this machine.
/// </summary>
internal sealed class RawNccl(INcclApi api, TimeSpan timeout)
{
    private const int Elements = 1 << 20;

    /// <summary>Forms a communicator of <paramref name="worldSize"/> from <paramref name="id"/>, polling while NCCL reports it in progress.</summary>
    public (nint Comm, int Polls) Join(NcclUniqueId id, int worldSize, int rank)
    {
        var config = NcclConfig.Nonblocking();
        var result = api.CommInitRankConfig(out var comm, worldSize, id, rank, ref config);
        Expect(result, "ncclCommInitRankConfig", comm);
        return (comm, Wait(comm, onStream: false, "ncclCommInitRankConfig"));
    }

    /// <summary>
    /// World size 1: all-reduce (sum and average) of two buffers in one group, out of place, then broadcast and
    /// all-gather; each result read back and compared.
    /// </summary>
    public JsonObject Collectives(nint comm)
    {
        var first = Enumerable.Range(0, Elements).Select(i => (float)(i % 1000) * 0.5f).ToArray();
        var second = Enumerable.Range(0, 1000).Select(i => -(float)i).ToArray();
        var buffers = new List<nint>();
        try
        {
            nint Keep(nint buffer)
            {
                buffers.Add(buffer);
                return buffer;
            }

            var send1 = Keep(CudaRuntime.Upload(first));
            var receive1 = Keep(CudaRuntime.Upload(new float[first.Length]));
            var send2 = Keep(CudaRuntime.Upload(second));
            var receive2 = Keep(CudaRuntime.Upload(new float[second.Length]));
            Expect(api.GroupStart(), "ncclGroupStart", comm);
            Expect(api.AllReduce(send1, receive1, (nuint)first.Length, NcclDataType.Float32, NcclRedOp.Sum, comm, 0), "ncclAllReduce", comm);
            Expect(api.AllReduce(send2, receive2, (nuint)second.Length, NcclDataType.Float32, NcclRedOp.Avg, comm, 0), "ncclAllReduce", comm);
            Expect(api.GroupEnd(), "ncclGroupEnd", comm);
            var groupPolls = Wait(comm, onStream: true, "the all-reduce group");
            var reduced = CudaRuntime.Download(receive1, first.Length).AsSpan().SequenceEqual(first)
                && CudaRuntime.Download(receive2, second.Length).AsSpan().SequenceEqual(second);

            var broadcast = Keep(CudaRuntime.Upload(new float[second.Length]));
            Expect(api.Broadcast(send2, broadcast, (nuint)second.Length, NcclDataType.Float32, 0, comm, 0), "ncclBroadcast", comm);
            var gathered = Keep(CudaRuntime.Upload(new float[second.Length]));
            Expect(api.AllGather(send2, gathered, (nuint)second.Length, NcclDataType.Float32, comm, 0), "ncclAllGather", comm);
            Wait(comm, onStream: true, "broadcast and all-gather");
            var copied = CudaRuntime.Download(broadcast, second.Length).AsSpan().SequenceEqual(second)
                && CudaRuntime.Download(gathered, second.Length).AsSpan().SequenceEqual(second);

            Expect(api.CommGetAsyncError(comm, out var asyncError), "ncclCommGetAsyncError", comm);
            if (!reduced || !copied || asyncError != NcclResult.Success)
            {
                throw new InvalidOperationException(
                    $"world-size-1 collectives gave wrong results: all-reduce {(reduced ? "right" : "WRONG")}, broadcast/all-gather " +
                    $"{(copied ? "right" : "WRONG")}, async error {asyncError}");
            }

            return new JsonObject
            {
                ["allReduceElements"] = first.Length + second.Length,
                ["groupPolls"] = groupPolls,
                ["allReduceSumAndAvgMatch"] = reduced,
                ["broadcastAndAllGatherMatch"] = copied,
                ["asyncErrorAfter"] = asyncError.ToString(),
            };
        }
        finally
        {
            CudaRuntime.Synchronize();
            buffers.ForEach(CudaRuntime.Free);
        }
    }

    /// <summary>Polls the communicator (and the default stream) until done; aborts and throws on an error or the timeout.</summary>
    public int Wait(nint comm, bool onStream, string what)
    {
        var watch = Stopwatch.StartNew();
        var spin = default(SpinWait);
        for (var polls = 1; ; polls++)
        {
            Expect(api.CommGetAsyncError(comm, out var state), "ncclCommGetAsyncError", comm);
            if (state is not (NcclResult.Success or NcclResult.InProgress))
            {
                api.CommAbort(comm);
                throw new InvalidOperationException($"{what}: asynchronous error {state} ({api.GetErrorString(state)}; {api.GetLastError(comm)})");
            }

            if (state == NcclResult.Success)
            {
                var stream = onStream ? api.StreamQuery(0) : 0;
                if (stream == 0)
                {
                    return polls;
                }

                if (stream != 600)
                {
                    api.CommAbort(comm);
                    throw new InvalidOperationException($"{what}: cudaStreamQuery returned {stream} ({api.CudaErrorString(stream)})");
                }
            }

            if (watch.Elapsed > timeout)
            {
                api.CommAbort(comm);
                throw new TimeoutException($"{what} did not finish within {timeout.TotalSeconds:0} s; the communicator was aborted");
            }

            spin.SpinOnce(sleep1Threshold: 64);
        }
    }

    public void Expect(NcclResult result, string call, nint comm)
    {
        if (result is not (NcclResult.Success or NcclResult.InProgress))
        {
            throw new InvalidOperationException($"{call} returned {result} ({api.GetErrorString(result)}; {api.GetLastError(comm)})");
        }
    }
}
