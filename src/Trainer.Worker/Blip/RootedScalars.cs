using TorchSharp;
using static TorchSharp.torch;

namespace Trainer.Worker.Blip;

/// <summary>
/// Native scalars that live as long as the process, and additions that use them. TorchSharp 0.107 passes a
/// <see cref="Scalar"/>'s handle to libtorch without keeping the Scalar alive through the call, and <c>a + b</c> on
/// tensors makes a temporary Scalar 1 (the alpha) for every addition, so a collection during the call can free it
/// under libtorch: "Unknown scalar type", or a failed check in <c>Scalar::toFloat</c>, after thousands of steps. The
/// model's per-layer additions and the objectives go through <see cref="Plus"/> and these constants instead; values
/// that change per step are held by a <c>using</c> for the call (<c>NamedAdamW.Step</c>, <c>BlipObjectives</c>).
/// </summary>
public static class RootedScalars
{
    public static readonly Scalar Zero = 0.ToScalar();

    public static readonly Scalar One = 1.ToScalar();

    public static readonly Scalar Two = 2.ToScalar();

    /// <summary>The label of a target that cross-entropy ignores, as in PyTorch.</summary>
    public static readonly Scalar IgnoredLabel = (-100).ToScalar();

    /// <summary>The additive mask value of a blocked attention position, as in BERT.</summary>
    public static readonly Scalar Blocked = (-10000.0).ToScalar();

    /// <summary><paramref name="left"/> + <paramref name="right"/>, element-wise, with an alpha that is never freed.</summary>
    public static Tensor Plus(this Tensor left, Tensor right) => left.add(right, One);
}
