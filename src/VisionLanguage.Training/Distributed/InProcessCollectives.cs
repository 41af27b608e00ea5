using TorchSharp;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Distributed;

/// <summary>
/// The collectives among replicas on threads of one process: each rank publishes its tensors, all meet at a barrier,
/// and each reads the others' in rank order. A failing rank aborts the group, so the others stop waiting and fail too.
/// </summary>
public sealed class InProcessCollectives : IDisposable
{
    private readonly Barrier _barrier;
    private readonly CancellationTokenSource _abort = new();
    private readonly IReadOnlyList<Tensor>?[] _published;
    private readonly bool[] _flags;

    public InProcessCollectives(int worldSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        WorldSize = worldSize;
        _barrier = new Barrier(worldSize);
        _published = new IReadOnlyList<Tensor>?[worldSize];
        _flags = new bool[worldSize];
    }

    public int WorldSize { get; }

    /// <summary>Cancelled when a rank aborted the group.</summary>
    public CancellationToken Aborted => _abort.Token;

    /// <summary>Rank <paramref name="rank"/>'s handle on the group.</summary>
    public ICollectives ForRank(int rank)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, WorldSize);
        return new Member(this, rank);
    }

    public void Abort() => _abort.Cancel();

    public void Dispose()
    {
        _barrier.Dispose();
        _abort.Dispose();
    }

    private void Meet() => _barrier.SignalAndWait(_abort.Token);

    private sealed class Member(InProcessCollectives group, int rank) : ICollectives
    {
        public int Rank => rank;

        public int WorldSize => group.WorldSize;

        public CancellationToken Aborted => group.Aborted;

        public void AllReduce(IReadOnlyList<Tensor> tensors, ReduceOperation operation)
        {
            if (WorldSize == 1)
            {
                return;
            }

            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            group._published[rank] = tensors;
            group.Meet();
            // Every rank sums the same tensors in the same order, so every rank gets the same bits.
            var results = new Tensor[tensors.Count];
            using var worldSize = WorldSize.ToScalar();
            for (var i = 0; i < tensors.Count; i++)
            {
                var sum = group._published[0]![i].clone();
                for (var other = 1; other < WorldSize; other++)
                {
                    sum.add_(group._published[other]![i], RootedScalars.One);
                }

                results[i] = operation == ReduceOperation.Mean ? sum.div_(worldSize) : sum;
            }

            // Nobody writes its tensors until everybody has read them.
            group.Meet();
            for (var i = 0; i < tensors.Count; i++)
            {
                tensors[i].copy_(results[i]);
            }

            group._published[rank] = null;
        }

        public Tensor AllGather(Tensor tensor)
        {
            if (WorldSize == 1)
            {
                return tensor.detach().clone();
            }

            using var noGrad = no_grad();
            group._published[rank] = [tensor];
            group.Meet();
            var gathered = cat([.. group._published.Select(published => published![0])], dim: 0);
            group.Meet();
            group._published[rank] = null;
            return gathered;
        }

        public Tensor AllGatherWithGrad(Tensor tensor) =>
            WorldSize == 1 ? tensor : GatherWithGrad.Apply(this, tensor);

        public void Broadcast(IReadOnlyList<Tensor> tensors, int root)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(root);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, WorldSize);
            if (WorldSize == 1)
            {
                return;
            }

            using var noGrad = no_grad();
            group._published[rank] = tensors;
            group.Meet();
            if (rank != root)
            {
                for (var i = 0; i < tensors.Count; i++)
                {
                    tensors[i].copy_(group._published[root]![i]);
                }
            }

            group.Meet();
            group._published[rank] = null;
        }

        public void Barrier()
        {
            if (WorldSize > 1)
            {
                group.Meet();
            }
        }

        public bool Any(bool flag)
        {
            if (WorldSize == 1)
            {
                return flag;
            }

            group._flags[rank] = flag;
            group.Meet();
            var any = group._flags.Any(value => value);
            group.Meet();
            return any;
        }

        public void Abort() => group.Abort();
    }
}
