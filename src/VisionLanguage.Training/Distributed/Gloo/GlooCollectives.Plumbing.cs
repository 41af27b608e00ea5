using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Distributed.Gloo;

/// <summary>Joining, calling the shim and turning its failures into exceptions; element types and shapes on the wire.</summary>
public sealed partial class GlooCollectives
{
    // AllGather's per-rank header: element type, number of dimensions, then up to MaxGatherDimensions sizes.
    private const int MaxGatherDimensions = 8;

    private static GlooCollectives Connect(GlooNative native, int rank, int worldSize, IRendezvousStore store, GlooOptions options, CancellationToken cancellationToken)
    {
        var bridge = new GlooStoreBridge(native, store, options.KeyPrefix, options.JoinTimeout, cancellationToken);
        var status = (GlooNative.Status)native.Connect(
            rank,
            worldSize,
            options.Hostname,
            options.NetworkInterface,
            (long)options.JoinTimeout.TotalMilliseconds,
            (long)options.CollectiveTimeout.TotalMilliseconds,
            Marshal.GetFunctionPointerForDelegate(bridge.SetCallback),
            Marshal.GetFunctionPointerForDelegate(bridge.GetCallback),
            nint.Zero,
            out var context);
        var message = native.LastError();
        GC.KeepAlive(bridge);
        if (status == GlooNative.Status.Ok)
        {
            return new GlooCollectives(native, new GlooContextHandle(native, context), rank, worldSize);
        }

        var who = $"Gloo rank {rank} of {worldSize} (bound to {options.NetworkInterface ?? options.Hostname})";
        switch (bridge.Failure)
        {
            case TimeoutException timeout:
                throw new TimeoutException(
                    $"{who} did not meet its peers within the join timeout of {options.JoinTimeout.TotalSeconds:0.#} s: {timeout.Message}. "
                    + "Check that every rank of the gang was started with the same rendezvous store, or raise GlooOptions.JoinTimeout",
                    timeout);
            case OperationCanceledException cancelled:
                ExceptionDispatchInfo.Throw(cancelled);
                break;
            case { } other:
                throw new CollectiveFailedException($"{who}: the rendezvous store failed while joining: {other.Message}", other);
        }

        throw new CollectiveFailedException(status == GlooNative.Status.IoError
            ? $"{who} could not connect to its peers: {message}"
            : $"{who} could not join: {message}. Check GlooOptions.Hostname / NetworkInterface name an address of this machine that the peers can reach");
    }

    /// <summary>Runs one call into the shim on the live context, turning a failure into the exception the interface promises.</summary>
    private void Run(string operation, Func<nint, int> call)
    {
        lock (_call)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_aborted)
            {
                throw new OperationCanceledException($"the Gloo group of rank {Rank} was aborted; its {operation} cannot run", _abort.Token);
            }

            if (_failure is not null)
            {
                throw new CollectiveFailedException($"Gloo {operation} on rank {Rank} of {WorldSize}: the group failed earlier ({_failure}) and cannot be used again");
            }

            var status = (GlooNative.Status)call(_context.DangerousGetHandle());
            var message = status == GlooNative.Status.Ok ? "" : _native.LastError();
            GC.KeepAlive(_context);
            if (status == GlooNative.Status.Ok)
            {
                return;
            }

            _failure = message;
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_aborted)
            {
                throw new OperationCanceledException($"Gloo {operation} on rank {Rank} of {WorldSize} was aborted: {message}", _abort.Token);
            }

            throw new CollectiveFailedException(
                $"Gloo {operation} failed on rank {Rank} of {WorldSize}: {message}. The group is unusable; the gang's generation has to restart");
        }
    }

    /// <summary>Every rank's number of rows, after checking that all ranks gather the same element type and row shape.</summary>
    private long[] ExchangeShapes(Tensor tensor)
    {
        if (tensor.dim() > MaxGatherDimensions)
        {
            throw new ArgumentException($"the tensor has {tensor.dim()} dimensions; the Gloo backend gathers at most {MaxGatherDimensions}: reshape it");
        }

        const int headerLength = MaxGatherDimensions + 2;
        var header = new long[headerLength];
        header[0] = (long)tensor.dtype;
        header[1] = tensor.dim();
        tensor.shape.CopyTo(header, 2);
        var headers = new long[headerLength * WorldSize];
        var headerBytes = (ulong)(headerLength * sizeof(long));
        var pinnedHeader = GCHandle.Alloc(header, GCHandleType.Pinned);
        var pinnedHeaders = GCHandle.Alloc(headers, GCHandleType.Pinned);
        try
        {
            Run("all-gather", context => _native.AllGatherV(
                context, pinnedHeader.AddrOfPinnedObject(), (nuint)headerBytes, pinnedHeaders.AddrOfPinnedObject(), [.. Enumerable.Repeat(headerBytes, WorldSize)]));
        }
        finally
        {
            pinnedHeader.Free();
            pinnedHeaders.Free();
        }

        var shapes = Enumerable.Range(0, WorldSize).Select(rank => headers.AsSpan(rank * headerLength, headerLength).ToArray()).ToArray();
        static string Describe(long[] h) => $"{(ScalarType)h[0]} [{string.Join(", ", h.Skip(2).Take((int)h[1]))}]";
        if (shapes.Any(h => h[0] != header[0] || h[1] != header[1] || !h.AsSpan(3, (int)h[1] - 1).SequenceEqual(header.AsSpan(3, (int)header[1] - 1))))
        {
            // Every rank sees the same headers, so every rank throws this, and none waits in a collective the others skip.
            throw new ArgumentException(
                "AllGather needs the same element type and the same sizes after the first dimension on every rank; got "
                + string.Join(", ", shapes.Select((h, rank) => $"rank {rank}: {Describe(h)}")));
        }

        return [.. shapes.Select(h => h[2])];
    }

    /// <summary>Which tensors travel as which wire type, in a fixed order of wire types, each list in tensor order.</summary>
    private static IEnumerable<(GlooNative.WireType Type, List<int> Members)> GroupByWireType(IReadOnlyList<Tensor> tensors) =>
        Enum.GetValues<GlooNative.WireType>()
            .Select(type => (type, Enumerable.Range(0, tensors.Count).Where(i => WireTypeOf(tensors[i].dtype, $"tensor {i}") == type).ToList()))
            .Where(group => group.Item2.Count > 0);

    private static GlooNative.WireType WireTypeOf(ScalarType dtype, string name) => dtype switch
    {
        ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 => GlooNative.WireType.Float32,
        ScalarType.Float64 => GlooNative.WireType.Float64,
        ScalarType.Int32 => GlooNative.WireType.Int32,
        ScalarType.Int64 => GlooNative.WireType.Int64,
        _ => throw new ArgumentException($"{name} is {dtype}: the Gloo backend sums float16, bfloat16, float32, float64, int32 and int64 tensors; convert it to one of them"),
    };

    private static ScalarType DtypeOf(GlooNative.WireType type) => type switch
    {
        GlooNative.WireType.Float32 => ScalarType.Float32,
        GlooNative.WireType.Float64 => ScalarType.Float64,
        GlooNative.WireType.Int32 => ScalarType.Int32,
        _ => ScalarType.Int64,
    };

    /// <summary>The shim's context: destroyed once, by Dispose or, for a group nobody disposed, by the finalizer.</summary>
    private sealed class GlooContextHandle : SafeHandle
    {
        private readonly GlooNative _native;

        public GlooContextHandle(GlooNative native, nint context)
            : base(nint.Zero, ownsHandle: true)
        {
            _native = native;
            SetHandle(context);
        }

        public override bool IsInvalid => handle == nint.Zero;

        protected override bool ReleaseHandle()
        {
            _native.Destroy(handle);
            return true;
        }
    }
}
