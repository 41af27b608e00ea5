using static TorchSharp.torch;

namespace VisionLanguage.Training.Distributed;

/// <summary>
/// One rank's view of the collectives data-parallel training needs (torch.distributed's, for a library that has none).
/// Every rank calls the same methods in the same order: each is collective, returning once all ranks have called it.
/// Results are identical on every rank and do not depend on timing. The order in which a sum adds the ranks'
/// contributions is the backend's: <see cref="InProcessCollectives"/> adds them in rank order; Gloo
/// (<see cref="Gloo.GlooCollectives"/>) gives the same bits as rank order for two ranks (floating-point addition is
/// commutative) but for more ranks adds each chunk of the buffer starting from a different rank (its documentation says
/// exactly how), so float sums can differ from rank order in the last bits; NCCL's order is NCCL's.
/// </summary>
public interface ICollectives
{
    int Rank { get; }

    int WorldSize { get; }

    /// <summary>Cancelled once the group is aborted: whatever a rank waits for outside a collective (data, say), it should stop.</summary>
    CancellationToken Aborted { get; }

    /// <summary>Replaces each of <paramref name="tensors"/> (this rank's, in a fixed order) with their sum or mean over the ranks.</summary>
    void AllReduce(IReadOnlyList<Tensor> tensors, ReduceOperation operation);

    /// <summary>Every rank's <paramref name="tensor"/> concatenated along the first dimension, rank 0 first; a new tensor without gradient.</summary>
    Tensor AllGather(Tensor tensor);

    /// <summary>
    /// As <see cref="AllGather"/>, but gradient flows back into this rank's <paramref name="tensor"/>: in backward every
    /// rank's gradient of the gathered tensor is summed, and this rank takes its own slice (LAVIS
    /// <c>all_gather_with_grad</c>, the <c>GatherLayer</c> BLIP-2's ITM needs). Every rank must pass the same shape.
    /// </summary>
    Tensor AllGatherWithGrad(Tensor tensor);

    /// <summary>Copies rank <paramref name="root"/>'s <paramref name="tensors"/> into every other rank's.</summary>
    void Broadcast(IReadOnlyList<Tensor> tensors, int root);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();

    /// <summary>True on every rank when <paramref name="flag"/> is true on any.</summary>
    bool Any(bool flag);

    /// <summary>Releases every rank waiting in a collective with <see cref="OperationCanceledException"/>; for a rank that failed.</summary>
    void Abort();
}

/// <summary>How <see cref="ICollectives.AllReduce"/> combines the ranks' tensors.</summary>
public enum ReduceOperation
{
    Sum,

    /// <summary>The sum divided by the world size, as data-parallel gradients are averaged.</summary>
    Mean,
}
