using static TorchSharp.torch;

namespace VisionLanguage.Training.Distributed;

/// <summary>
/// <see cref="ICollectives.AllGatherWithGrad"/> on any backend's <see cref="ICollectives.AllGather"/> and
/// <see cref="ICollectives.AllReduce"/>: all-gather forward; in backward, the gradients of the gathered tensor summed
/// over ranks, and this rank's slice of them (LAVIS <c>GatherLayer</c>).
/// </summary>
public sealed class GatherWithGrad : autograd.SingleTensorFunction<GatherWithGrad>
{
    public override string Name => "AllGatherWithGrad";

    /// <summary>Every rank's <paramref name="tensor"/> concatenated in rank order, the gradient flowing back to this rank's.</summary>
    public static Tensor Apply(ICollectives collectives, Tensor tensor) => apply(tensor, collectives);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (tensor, collectives) = ((Tensor)vars[0], (ICollectives)vars[1]);
        ctx.save_data("collectives", collectives);
        ctx.save_data("rows", tensor.shape[0]);
        return collectives.AllGather(tensor);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var collectives = (ICollectives)ctx.get_data("collectives");
        var rows = (long)ctx.get_data("rows");
        var summed = grad_output.clone();
        collectives.AllReduce([summed], ReduceOperation.Sum);
        // One gradient per argument of forward: the tensor's, and none for the collectives.
        return [summed.narrow(0, collectives.Rank * rows, rows).clone(), null!];
    }
}
