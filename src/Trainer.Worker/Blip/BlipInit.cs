using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Trainer.Worker.Blip;

/// <summary>
/// Initialisations of the reference implementations, drawn from a generator the caller owns so that the same seed gives
/// the same weights on every replica and every run.
/// </summary>
internal static class BlipInit
{
    /// <summary>BERT's <c>_init_weights</c>: normal(0, std) weights, zero bias.</summary>
    public static void Normal(Linear linear, double std, Generator generator)
    {
        using var noGrad = no_grad();
        nn.init.normal_(linear.weight, 0.0, std, generator);
        linear.bias?.zero_();
    }

    /// <summary>BERT's <c>_init_weights</c> for embeddings: normal(0, std), and a zero padding row.</summary>
    public static void Normal(Embedding embedding, double std, Generator generator, long? paddingIndex = null)
    {
        using var noGrad = no_grad();
        using var weight = embedding.weight!; // a fresh wrapper of the native weight, released here
        nn.init.normal_(weight, 0.0, std, generator);
        if (paddingIndex is { } padding)
        {
            using var row = weight[padding];
            row.zero_();
        }
    }

    /// <summary>timm's ViT <c>_init_weights</c>: truncated normal(0, std) weights, zero bias.</summary>
    public static void TruncatedNormal(Linear linear, double std, Generator generator)
    {
        using var noGrad = no_grad();
        nn.init.trunc_normal_(linear.weight, 0.0, std, generator: generator);
        linear.bias?.zero_();
    }

    /// <summary>PyTorch's default for <c>nn.Linear</c> and <c>nn.Conv2d</c> (kaiming-uniform with a = √5): U(±1/√fan_in) for weight and bias.</summary>
    public static void Default(Tensor weight, Tensor? bias, Generator generator)
    {
        using var noGrad = no_grad();
        var fanIn = weight.shape.Skip(1).Aggregate(1L, (product, size) => product * size);
        var bound = 1.0 / Math.Sqrt(fanIn);
        nn.init.uniform_(weight, -bound, bound, generator);
        if (bias is not null)
        {
            nn.init.uniform_(bias, -bound, bound, generator);
        }
    }
}
