using TorchSharp;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Layers;

/// <summary>
/// Native scalars that live as long as the process, and additions that use them. TorchSharp 0.107 passes a
/// <see cref="Scalar"/>'s handle to libtorch without keeping the Scalar alive through the call, and <c>a + b</c>,
/// <c>add(Scalar)</c> and <c>add_(Scalar)</c> make a temporary Scalar 1 (the alpha) for every addition, so a collection
/// during the call can free it under libtorch: "Unknown scalar type", or a failed check in <c>Scalar::toFloat</c>,
/// after thousands of steps. The model, the objectives, the optimiser and decoding add through <c>Plus</c> and use
/// these constants instead; values that change per call are held by a <c>using</c> around it.
/// </summary>
public static class RootedScalars
{
    public static readonly Scalar Zero = 0.ToScalar();

    public static readonly Scalar One = 1.ToScalar();

    public static readonly Scalar Two = 2.ToScalar();

    public static readonly Scalar NegativeInfinity = double.NegativeInfinity.ToScalar();

    /// <summary>The label of a target that cross-entropy ignores, as in PyTorch.</summary>
    public static readonly Scalar IgnoredLabel = (-100).ToScalar();

    /// <summary>The additive mask value of a blocked attention position, as in BERT.</summary>
    public static readonly Scalar Blocked = (-10000.0).ToScalar();

    /// <summary><paramref name="left"/> + <paramref name="right"/>, element-wise, with an alpha that is never freed.</summary>
    public static Tensor Plus(this Tensor left, Tensor right) => left.add(right, One);

    /// <summary><paramref name="left"/> + <paramref name="right"/> to each element, with an alpha that is never freed
    /// (TorchSharp's <c>add(Scalar)</c> and <c>add_(Scalar)</c> make a temporary one).</summary>
    public static Tensor Plus(this Tensor left, Scalar right) => left.add(right, One);
}
