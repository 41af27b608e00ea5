using TorchSharp;
using TorchSharp.Modules;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// Momentum distillation (ALBEF, BLIP): momentum copies of some of a model's modules that start as copies, never train,
/// and follow the online modules as an exponential moving average, θ_m ← m·θ_m + (1 − m)·θ (LAVIS
/// <c>copy_params</c> and <c>_momentum_update</c>). The model keeps the copies as fields of its own, under the reference
/// names (<c>visual_encoder_m</c>, …), so checkpoints keep LAVIS's names; this component pairs and updates them.
/// </summary>
/// <param name="pairs">Each online module with its momentum copy, in the order LAVIS's <c>model_pairs</c> walk them.</param>
/// <param name="momentum">m, e.g. 0.995.</param>
public sealed class MomentumDistillation(IReadOnlyList<(nn.Module Online, nn.Module Momentum)> pairs, double momentum)
{
    /// <summary>Each online parameter with its momentum copy.</summary>
    public IEnumerable<(Parameter Online, Parameter Momentum)> ParameterPairs() =>
        pairs.SelectMany(pair => pair.Online.parameters().Zip(pair.Momentum.parameters()));

    /// <summary>Makes the copies equal to the online modules and takes them out of training.</summary>
    public void CopyParameters()
    {
        using var noGrad = no_grad();
        foreach (var (online, copy) in ParameterPairs())
        {
            copy.copy_(online);
            copy.requires_grad = false;
        }
    }

    /// <summary>One moving-average update of every copy; once per optimiser step, before its forward passes.</summary>
    public void Update()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // Native scalars held through the loop (see NamedAdamW.Step for why not implicit ones).
        using var kept = momentum.ToScalar();
        using var onlineShare = (1.0 - momentum).ToScalar();
        foreach (var (online, copy) in ParameterPairs())
        {
            copy.mul_(kept).add_(online.mul(onlineShare), RootedScalars.One);
        }
    }
}
