using static TorchSharp.torch;

namespace VisionLanguage.Models;

/// <summary>
/// The gathers a model needs inside its forward pass (BLIP-2's in-batch negatives come from every rank): LAVIS's
/// <c>concat_all_gather</c> (no gradient) and <c>all_gather_with_grad</c>. Models reference no training code, so the
/// training side adapts its collectives to this (the trainer binds it for each replica, in-process or in a gang, through
/// <see cref="IGathersAcrossRanks"/>); a single process gathers nothing (<see cref="SingleProcessGather"/>).
/// </summary>
public interface IBatchGather
{
    int Rank { get; }

    int WorldSize { get; }

    /// <summary>Every rank's <paramref name="local"/> (B, …) concatenated in rank order (W·B, …), without gradient.</summary>
    Tensor AllGather(Tensor local);

    /// <summary>As <see cref="AllGather"/>, with the gradient of the whole flowing back to this rank's slice.</summary>
    Tensor AllGatherWithGrad(Tensor local);
}

/// <summary>World size 1: the gathers are the local tensors (detached where LAVIS's gather carries no gradient).</summary>
public sealed class SingleProcessGather : IBatchGather
{
    public static SingleProcessGather Instance { get; } = new();

    public int Rank => 0;

    public int WorldSize => 1;

    public Tensor AllGather(Tensor local) => local.detach();

    public Tensor AllGatherWithGrad(Tensor local) => local.alias();
}

/// <summary>
/// A model whose forward pass itself needs the other ranks' tensors (BLIP-2 stage 1's in-batch negatives, LAVIS's
/// <c>concat_all_gather</c> and <c>all_gather_with_grad</c>), as opposed to what it asks to gather after backward
/// (<see cref="ITrainingOutput.GatheredAfterBackward"/>). The training loop binds <see cref="Gather"/> to each replica's
/// collectives while it trains with more than one replica, whether they are threads of one process or processes of a
/// gang, and sets it back to <see cref="SingleProcessGather"/> when it stops.
/// </summary>
public interface IGathersAcrossRanks
{
    /// <summary>The gathers forward uses; <see cref="SingleProcessGather"/> when the model trains alone.</summary>
    IBatchGather Gather { get; set; }
}
