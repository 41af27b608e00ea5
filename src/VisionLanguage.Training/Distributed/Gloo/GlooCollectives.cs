using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Distributed.Gloo;

/// <summary>
/// The collectives of one rank among processes (or threads) on CPUs, over Gloo's TCP transport through the shim in
/// <c>native/gloo</c>. Ranks meet through an <see cref="IRendezvousStore"/>, as NCCL's do, so ranks the orchestrator
/// starts on different machines can join. Tensors must be on the CPU.
/// <para>
/// Sums are Gloo's ring all-reduce: identical bits on every rank. With two ranks each element is
/// <c>x0 + x1</c>, bitwise what <see cref="InProcessCollectives"/> gives. With more, the buffer (all tensors of one
/// element type, flattened in order) is cut into <see cref="WorldSize"/> contiguous chunks, and chunk <c>c</c> is
/// summed as <c>x_c + (x_(c+1) + (... + (x_(c+N-2) + x_(c+N-1))))</c>, ranks modulo N: only the last chunk is in rank
/// order, so float results may differ from the in-process backend's in the last bits. Half and bfloat16 tensors are
/// summed in float32 and rounded once.
/// </para>
/// <para>
/// A peer that closes its connection or dies fails the collective at once with <see cref="CollectiveFailedException"/>;
/// a peer that is alive but never calls fails it after <see cref="GlooOptions.CollectiveTimeout"/>. Either way the group
/// is unusable afterwards. <see cref="Abort"/> releases this rank at once and closes its connections, so the peers
/// that wait on this rank fail at once too.
/// </para>
/// </summary>
public sealed partial class GlooCollectives : ICollectives, IDisposable
{
    private readonly GlooNative _native;
    private readonly GlooContextHandle _context;
    private readonly CancellationTokenSource _abort = new();
    // Held for the length of every collective, so that Dispose never frees the context under one.
    private readonly Lock _call = new();
    // Orders Abort and Dispose against each other; never held across a collective.
    private readonly Lock _state = new();
    // Written under _state, read by the collectives under _call.
    private volatile bool _aborted;
    private volatile bool _disposed;
    private string? _failure;

    private GlooCollectives(GlooNative native, GlooContextHandle context, int rank, int worldSize)
    {
        _native = native;
        _context = context;
        Rank = rank;
        WorldSize = worldSize;
    }

    /// <summary>True when the Gloo shim loads in this process, so a worker can offer the Gloo backend.</summary>
    public static bool IsAvailable => GlooNative.Instance is not null;

    /// <summary>Why <see cref="IsAvailable"/> is false (where the shim was looked for, and how to build it); null when it is true.</summary>
    public static string? UnavailableReason => GlooNative.Problem;

    /// <summary>
    /// The file that provides the Gloo code the shim runs: Debian's <c>libgloo.so.0</c>, never the newer Gloo inside
    /// TorchSharp's <c>libtorch_cpu.so</c> (docs/decisions/gloo-backend.md).
    /// </summary>
    public static string ImplementationPath => RequireNative().ImplementationPath;

    public int Rank { get; }

    public int WorldSize { get; }

    public CancellationToken Aborted => _abort.Token;

    /// <summary>
    /// Joins rank <paramref name="rank"/> of <paramref name="worldSize"/> to its peers: publishes its address through
    /// <paramref name="store"/>, reads theirs and connects to every other rank. Throws <see cref="TimeoutException"/>
    /// naming the missing key when a peer does not join within <see cref="GlooOptions.JoinTimeout"/>, and
    /// <see cref="CollectiveFailedException"/> when a connection fails.
    /// </summary>
    public static Task<GlooCollectives> ConnectAsync(int rank, int worldSize, IRendezvousStore store, GlooOptions options, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var native = RequireNative();
        // The join blocks its thread inside Gloo (and the store's waits with it): give it a thread of its own.
        return Task.Factory.StartNew(
            () => Connect(native, rank, worldSize, store, options, cancellationToken),
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    public void AllReduce(IReadOnlyList<Tensor> tensors, ReduceOperation operation)
    {
        for (var i = 0; i < tensors.Count; i++)
        {
            RequireCpu(tensors[i], $"tensor {i}");
            var type = WireTypeOf(tensors[i].dtype, $"tensor {i}");
            if (operation == ReduceOperation.Mean && type is GlooNative.WireType.Int32 or GlooNative.WireType.Int64)
            {
                throw new ArgumentException($"tensor {i} is {tensors[i].dtype}: a mean of integers is not an integer; all-reduce a floating-point copy, or use Sum");
            }
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var worldSize = WorldSize.ToScalar();
        foreach (var (type, members) in GroupByWireType(tensors))
        {
            // One contiguous buffer per element type: the members flattened in order (a copy, so non-contiguous and
            // half-precision tensors need nothing special), summed in place, then copied back into each member.
            var flat = cat(members.Select(i => tensors[i].reshape(-1).to_type(DtypeOf(type))).ToList(), 0);
            Run("all-reduce", context => _native.AllReduceSum(context, type, GlooNative.TensorData(flat.Handle), (nuint)flat.numel()));
            var offset = 0L;
            foreach (var i in members)
            {
                var tensor = tensors[i];
                tensor.copy_(flat.narrow(0, offset, tensor.numel()).view(tensor.shape));
                if (operation == ReduceOperation.Mean)
                {
                    // As the in-process backend: the sum in the tensor's own type, then divided in it.
                    tensor.div_(worldSize);
                }

                offset += tensor.numel();
            }
        }
    }

    public Tensor AllGather(Tensor tensor)
    {
        RequireCpu(tensor, "the tensor");
        if (tensor.dim() == 0)
        {
            throw new ArgumentException("AllGather concatenates along the first dimension; the tensor is a scalar: reshape it to [1]");
        }

        var rowsPerRank = ExchangeShapes(tensor);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var source = tensor.detach().contiguous();
        var rowBytes = source.shape.Skip(1).Aggregate((long)source.element_size(), (bytes, size) => bytes * size);
        long[] shape = [rowsPerRank.Sum(), .. source.shape.Skip(1)];
        var gathered = empty(shape, source.dtype, device: source.device);
        var bytesPerRank = rowsPerRank.Select(rows => (ulong)(rows * rowBytes)).ToArray();
        if (bytesPerRank.Any(bytes => bytes > 0))
        {
            Run("all-gather", context => _native.AllGatherV(
                context, GlooNative.TensorData(source.Handle), (nuint)bytesPerRank[Rank], GlooNative.TensorData(gathered.Handle), bytesPerRank));
        }

        return gathered.MoveToOuterDisposeScope();
    }

    public Tensor AllGatherWithGrad(Tensor tensor) =>
        WorldSize == 1 ? tensor : GatherWithGrad.Apply(this, tensor);

    public void Broadcast(IReadOnlyList<Tensor> tensors, int root)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, WorldSize);
        for (var i = 0; i < tensors.Count; i++)
        {
            RequireCpu(tensors[i], $"tensor {i}");
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var members in tensors.Select((tensor, index) => (tensor.dtype, index)).GroupBy(member => member.dtype, member => member.index).OrderBy(group => group.Key))
        {
            var flat = cat(members.Select(i => tensors[i].reshape(-1)).ToList(), 0);
            var bytes = (nuint)(flat.numel() * flat.element_size());
            if (bytes == 0)
            {
                continue;
            }

            Run("broadcast", context => _native.Broadcast(context, GlooNative.TensorData(flat.Handle), bytes, root));
            if (Rank != root)
            {
                var offset = 0L;
                foreach (var i in members)
                {
                    tensors[i].copy_(flat.narrow(0, offset, tensors[i].numel()).view(tensors[i].shape));
                    offset += tensors[i].numel();
                }
            }
        }
    }

    public void Barrier() => Run("barrier", context => _native.Barrier(context));

    public bool Any(bool flag)
    {
        var flags = new[] { flag ? 1 : 0 };
        var pinned = GCHandle.Alloc(flags, GCHandleType.Pinned);
        try
        {
            Run("any", context => _native.AllReduceSum(context, GlooNative.WireType.Int32, pinned.AddrOfPinnedObject(), 1));
        }
        finally
        {
            pinned.Free();
        }

        return flags[0] > 0;
    }

    /// <summary>
    /// Cancels <see cref="Aborted"/>, fails a collective this rank is waiting in (it throws
    /// <see cref="OperationCanceledException"/>, as every later one does) and closes the connections, so a peer waiting
    /// on this rank fails with <see cref="CollectiveFailedException"/> as soon as it sees the connection close.
    /// </summary>
    public void Abort()
    {
        lock (_state)
        {
            if (_aborted || _disposed)
            {
                return;
            }

            _aborted = true;
            _native.Abort(_context.DangerousGetHandle());
        }

        _abort.Cancel();
    }

    /// <summary>Leaves the group: a collective in flight on another thread is failed first, then the connections close.</summary>
    public void Dispose()
    {
        lock (_state)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (!_aborted)
            {
                _native.Abort(_context.DangerousGetHandle());
            }
        }

        lock (_call)
        {
            _context.Dispose();
        }

        // The token source holds no timer; it stays undisposed so that Aborted can still be read.
    }

    private static GlooNative RequireNative() =>
        GlooNative.Instance ?? throw new InvalidOperationException(GlooNative.Problem);

    private static void RequireCpu(Tensor tensor, string name)
    {
        if (tensor.device_type != DeviceType.CPU)
        {
            throw new ArgumentException($"{name} is on {tensor.device}: the Gloo backend reduces CPU tensors; use the NCCL backend for CUDA tensors, or move the tensor to the CPU");
        }
    }
}
