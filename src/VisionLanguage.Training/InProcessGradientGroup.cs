using TorchSharp;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Training;

/// <summary>
/// The collectives among replicas on threads of one process: each rank publishes its tensors, all meet at a barrier,
/// and each reads the others' in rank order. A failing rank aborts the group, so the others stop waiting and fail too.
/// </summary>
public sealed class InProcessGradientGroup : IDisposable
{
    private readonly Barrier _barrier;
    private readonly CancellationTokenSource _abort = new();
    private readonly IReadOnlyList<Tensor>?[] _published;
    private readonly bool[] _flags;

    public InProcessGradientGroup(int worldSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        WorldSize = worldSize;
        _barrier = new Barrier(worldSize);
        _published = new IReadOnlyList<Tensor>?[worldSize];
        _flags = new bool[worldSize];
    }

    public int WorldSize { get; }

    /// <summary>Cancelled when a rank aborted the group: whatever the other ranks wait for (data, say), they should stop.</summary>
    public CancellationToken Aborted => _abort.Token;

    /// <summary>Rank <paramref name="rank"/>'s handle on the group.</summary>
    public IGradientReducer ForRank(int rank)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, WorldSize);
        return new Member(this, rank);
    }

    /// <summary>Releases every rank waiting in a collective with <see cref="OperationCanceledException"/>; for a rank that failed.</summary>
    public void Abort() => _abort.Cancel();

    public void Dispose()
    {
        _barrier.Dispose();
        _abort.Dispose();
    }

    private void Meet() => _barrier.SignalAndWait(_abort.Token);

    private sealed class Member(InProcessGradientGroup group, int rank) : IGradientReducer
    {
        public int Rank => rank;

        public int WorldSize => group.WorldSize;

        public void AverageGradients(IReadOnlyList<Tensor> gradients)
        {
            if (WorldSize == 1)
            {
                return;
            }

            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            group._published[rank] = gradients;
            group.Meet();
            // Every rank sums the same tensors in the same order, so every rank gets the same bits.
            var means = new Tensor[gradients.Count];
            using var worldSize = WorldSize.ToScalar();
            for (var i = 0; i < gradients.Count; i++)
            {
                var sum = group._published[0]![i].clone();
                for (var other = 1; other < WorldSize; other++)
                {
                    sum.add_(group._published[other]![i], RootedScalars.One);
                }

                means[i] = sum.div_(worldSize);
            }

            // Nobody writes its gradients until everybody has read them.
            group.Meet();
            for (var i = 0; i < gradients.Count; i++)
            {
                gradients[i].copy_(means[i]);
            }

            group._published[rank] = null;
        }

        public Tensor AllGather(Tensor tensor)
        {
            if (WorldSize == 1)
            {
                return tensor.clone();
            }

            group._published[rank] = [tensor];
            group.Meet();
            var gathered = cat([.. group._published.Select(published => published![0])], dim: 0);
            group.Meet();
            group._published[rank] = null;
            return gathered;
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
    }
}
