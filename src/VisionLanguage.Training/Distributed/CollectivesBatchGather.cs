using VisionLanguage.Models;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Distributed;

/// <summary>
/// A model's in-forward gathers (<see cref="IBatchGather"/>) on a replica's collectives: in-process replicas and the
/// processes of a gang gather the same way, through whichever <see cref="ICollectives"/> the trainer gives the replica.
/// </summary>
public sealed class CollectivesBatchGather(ICollectives collectives) : IBatchGather
{
    public int Rank => collectives.Rank;

    public int WorldSize => collectives.WorldSize;

    /// <summary>LAVIS <c>concat_all_gather</c>: every rank's tensor in rank order, without gradient.</summary>
    public Tensor AllGather(Tensor local) => collectives.AllGather(local);

    /// <summary>LAVIS <c>all_gather_with_grad</c>: the gradient of the whole flows back to this rank's slice, summed over ranks.</summary>
    public Tensor AllGatherWithGrad(Tensor local) => collectives.AllGatherWithGrad(local);
}
