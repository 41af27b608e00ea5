using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Layers;

/// <summary>
/// Initialisations of the reference implementations, drawn from a generator the caller owns so that the same seed gives
/// the same weights on every replica and every run. TorchSharp 0.107's <c>nn.init.normal_</c>, <c>uniform_</c> and
/// <c>trunc_normal_</c> accept a generator but ignore it (they draw from the global one), so these use the tensor
/// methods that honour it.
/// </summary>
internal static class BlipInit
{
    /// <summary>BERT's <c>_init_weights</c>: normal(0, std) weights, zero bias.</summary>
    public static void Normal(Linear linear, double std, Generator generator)
    {
        using var noGrad = no_grad();
        linear.weight.normal_(0.0, std, generator);
        linear.bias?.zero_();
    }

    /// <summary>BERT's <c>_init_weights</c> for embeddings: normal(0, std), and a zero padding row.</summary>
    public static void Normal(Embedding embedding, double std, Generator generator, long? paddingIndex = null)
    {
        using var noGrad = no_grad();
        using var weight = embedding.weight!; // a fresh wrapper of the native weight, released here
        weight.normal_(0.0, std, generator);
        if (paddingIndex is { } padding)
        {
            using var row = weight[padding];
            row.zero_();
        }
    }

    /// <summary>timm's ViT <c>_init_weights</c>: truncated normal(0, std) weights, zero bias.</summary>
    public static void TruncatedNormal(Linear linear, double std, Generator generator)
    {
        TruncatedNormal(linear.weight, std, generator);
        using var noGrad = no_grad();
        linear.bias?.zero_();
    }

    /// <summary>
    /// timm's <c>trunc_normal_(tensor, std=std)</c>: normal(0, std) restricted to [−2, 2] (absolute bounds, as timm's
    /// defaults), by inverse-CDF sampling exactly as timm does it.
    /// </summary>
    public static void TruncatedNormal(Tensor tensor, double std, Generator generator, double low = -2.0, double high = 2.0)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var lowCdf = NormalCdf(low / std);
        var highCdf = NormalCdf(high / std);
        tensor.uniform_(2 * lowCdf - 1, 2 * highCdf - 1, generator);
        tensor.erfinv_().mul_(std * Math.Sqrt(2.0)).clamp_(low, high);
    }

    /// <summary>PyTorch's default for <c>nn.Linear</c> and <c>nn.Conv2d</c> (kaiming-uniform with a = √5): U(±1/√fan_in) for weight and bias.</summary>
    public static void Default(Tensor weight, Tensor? bias, Generator generator)
    {
        using var noGrad = no_grad();
        var fanIn = weight.shape.Skip(1).Aggregate(1L, (product, size) => product * size);
        var bound = 1.0 / Math.Sqrt(fanIn);
        weight.uniform_(-bound, bound, generator);
        bias?.uniform_(-bound, bound, generator);
    }

    private static double NormalCdf(double x)
    {
        using var value = tensor(x / Math.Sqrt(2.0), float64, device: CPU);
        using var erf = value.erf();
        return (1.0 + erf.item<double>()) / 2.0;
    }
}
