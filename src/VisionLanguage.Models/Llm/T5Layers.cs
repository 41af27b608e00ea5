using TorchSharp;
using TorchSharp.Modules;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Llm;

/// <summary>
/// HF's <c>T5Block</c>: <c>layer.0</c> self-attention, in the decoder <c>layer.1</c> cross-attention, and last the
/// feed-forward, each pre-normed around a residual. In float16, as HF does, the hidden states are clamped after each
/// to finfo.max (less 1,000 when one has overflowed), so an infinity does not become NaN downstream.
/// </summary>
public sealed class T5Block : nn.Module
{
    private readonly ModuleList<nn.Module> layer;

    public T5Block(T5Config config, bool isDecoder, bool hasRelativeAttentionBias, Generator generator)
        : base(nameof(T5Block))
    {
        var self = new T5LayerSelfAttention(config, hasRelativeAttentionBias, bidirectional: !isDecoder, generator);
        layer = isDecoder
            ? new ModuleList<nn.Module>(self, new T5LayerCrossAttention(config, generator), new T5LayerFF(config, generator))
            : new ModuleList<nn.Module>(self, new T5LayerFF(config, generator));
        RegisterComponents();
    }

    /// <summary>The self-attention, whose table (block 0 only) gives the stack's position bias.</summary>
    internal T5Attention SelfAttention => ((T5LayerSelfAttention)layer[0]).Attention;

    /// <summary>
    /// <paramref name="x"/> (B, T, d_model) through the block. <paramref name="selfBias"/>: the stack's position bias plus
    /// the self-attention mask; <paramref name="encoderHidden"/> and <paramref name="crossBias"/> (its padding mask):
    /// the decoder's cross-attention inputs.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor selfBias, Tensor? encoderHidden = null, Tensor? crossBias = null, LayerKeyValues? cache = null)
    {
        using var scope = NewDisposeScope();
        x = ClampHalf(((T5LayerSelfAttention)layer[0]).Forward(x, selfBias, cache));
        if (layer.Count == 3)
        {
            x = ClampHalf(((T5LayerCrossAttention)layer[1]).Forward(x, encoderHidden!, crossBias!, cache));
        }

        return ClampHalf(((T5LayerFF)layer[^1]).call(x)).MoveToOuterDisposeScope();
    }

    private static Tensor ClampHalf(Tensor x)
    {
        if (x.dtype != ScalarType.Float16)
        {
            return x;
        }

        var max = finfo(ScalarType.Float16).max;
        var limit = x.isinf().any().item<bool>() ? max - 1000 : max;
        using var low = (-limit).ToScalar();
        using var high = limit.ToScalar();
        return x.clamp(low, high);
    }
}

/// <summary>HF's <c>T5LayerSelfAttention</c>: <c>layer_norm</c> then <c>SelfAttention</c>, added to the residual.</summary>
public sealed class T5LayerSelfAttention : nn.Module
{
    private readonly T5Attention SelfAttention;
    private readonly T5LayerNorm layer_norm;

    public T5LayerSelfAttention(T5Config config, bool hasRelativeAttentionBias, bool bidirectional, Generator generator)
        : base(nameof(T5LayerSelfAttention))
    {
        SelfAttention = new T5Attention(config, hasRelativeAttentionBias, bidirectional, generator);
        layer_norm = new T5LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    internal T5Attention Attention => SelfAttention;

    public Tensor Forward(Tensor x, Tensor bias, LayerKeyValues? cache)
    {
        using var scope = NewDisposeScope();
        return x.Plus(SelfAttention.Forward(layer_norm.call(x), bias, cache: cache)).MoveToOuterDisposeScope();
    }
}

/// <summary>HF's <c>T5LayerCrossAttention</c>: <c>layer_norm</c> then <c>EncDecAttention</c> over the encoder's states, added to the residual.</summary>
public sealed class T5LayerCrossAttention : nn.Module
{
    private readonly T5Attention EncDecAttention;
    private readonly T5LayerNorm layer_norm;

    public T5LayerCrossAttention(T5Config config, Generator generator)
        : base(nameof(T5LayerCrossAttention))
    {
        EncDecAttention = new T5Attention(config, hasRelativeAttentionBias: false, bidirectional: true, generator);
        layer_norm = new T5LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor encoderHidden, Tensor bias, LayerKeyValues? cache)
    {
        using var scope = NewDisposeScope();
        return x.Plus(EncDecAttention.Forward(layer_norm.call(x), bias, encoderHidden, cache)).MoveToOuterDisposeScope();
    }
}

/// <summary>HF's <c>T5LayerFF</c>: <c>layer_norm</c> then <c>DenseReluDense</c>, added to the residual.</summary>
public sealed class T5LayerFF : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> DenseReluDense;
    private readonly T5LayerNorm layer_norm;

    public T5LayerFF(T5Config config, Generator generator)
        : base(nameof(T5LayerFF))
    {
        DenseReluDense = config.GatedFeedForward ? new T5DenseGatedActDense(config, generator) : new T5DenseActDense(config, generator);
        layer_norm = new T5LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return x.Plus(DenseReluDense.call(layer_norm.call(x))).MoveToOuterDisposeScope();
    }
}

/// <summary>HF's <c>T5DenseActDense</c> (the original T5): <c>wo</c>(act(<c>wi</c> x)).</summary>
public sealed class T5DenseActDense : nn.Module<Tensor, Tensor>
{
    private readonly Linear wi;
    private readonly Linear wo;
    private readonly T5Activation _activation;

    public T5DenseActDense(T5Config config, Generator generator)
        : base(nameof(T5DenseActDense))
    {
        _activation = config.Activation;
        wi = nn.Linear(config.HiddenSize, config.FfnDim, hasBias: false);
        wo = nn.Linear(config.FfnDim, config.HiddenSize, hasBias: false);
        BlipInit.Normal(wi, Math.Pow(config.HiddenSize, -0.5), generator);
        BlipInit.Normal(wo, Math.Pow(config.FfnDim, -0.5), generator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var hidden = T5Activations.Apply(wi.call(x), _activation);                                      // (B, T, d_ff)
        return wo.call(T5Activations.ToWeightType(hidden, wo)).MoveToOuterDisposeScope();
    }
}

/// <summary>HF's <c>T5DenseGatedActDense</c> (T5 v1.1, Flan-T5): <c>wo</c>(act(<c>wi_0</c> x) · <c>wi_1</c> x).</summary>
public sealed class T5DenseGatedActDense : nn.Module<Tensor, Tensor>
{
    private readonly Linear wi_0;
    private readonly Linear wi_1;
    private readonly Linear wo;
    private readonly T5Activation _activation;

    public T5DenseGatedActDense(T5Config config, Generator generator)
        : base(nameof(T5DenseGatedActDense))
    {
        _activation = config.Activation;
        wi_0 = nn.Linear(config.HiddenSize, config.FfnDim, hasBias: false);
        wi_1 = nn.Linear(config.HiddenSize, config.FfnDim, hasBias: false);
        wo = nn.Linear(config.FfnDim, config.HiddenSize, hasBias: false);
        BlipInit.Normal(wi_0, Math.Pow(config.HiddenSize, -0.5), generator);
        BlipInit.Normal(wi_1, Math.Pow(config.HiddenSize, -0.5), generator);
        BlipInit.Normal(wo, Math.Pow(config.FfnDim, -0.5), generator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var hidden = T5Activations.Apply(wi_0.call(x), _activation).mul(wi_1.call(x));                  // (B, T, d_ff)
        return wo.call(T5Activations.ToWeightType(hidden, wo)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// HF's <c>T5LayerNorm</c>, an RMSNorm: x / √(mean(x²) + eps) · weight, no mean subtracted and no bias. The mean square
/// is taken in float32 whatever the input's dtype; the result returns to the weight's dtype when that is 16-bit.
/// </summary>
public sealed class T5LayerNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double _eps;

    public T5LayerNorm(long width, double eps)
        : base(nameof(T5LayerNorm))
    {
        _eps = eps;
        weight = new Parameter(ones(width, device: CPU));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        using var eps = _eps.ToScalar();
        var variance = x.to_type(ScalarType.Float32).square().mean([-1], keepdim: true);               // (…, 1)
        var normed = x.mul(variance.add(eps, RootedScalars.One).rsqrt());
        if (weight.dtype is ScalarType.Float16 or ScalarType.BFloat16)
        {
            normed = normed.to_type(weight.dtype);
        }

        return weight.mul(normed).MoveToOuterDisposeScope();
    }
}

/// <summary>The feed-forward activations HF's <c>ACT2FN</c> gives T5.</summary>
internal static class T5Activations
{
    private static readonly Scalar Half = 0.5.ToScalar();
    private static readonly Scalar Cube = 3.0.ToScalar();
    private static readonly Scalar CubeCoefficient = 0.044715.ToScalar();
    private static readonly Scalar SqrtTwoOverPi = Math.Sqrt(2.0 / Math.PI).ToScalar();

    public static Tensor Apply(Tensor x, T5Activation activation) => activation switch
    {
        T5Activation.Relu => nn.functional.relu(x),
        T5Activation.Gelu => nn.functional.gelu(x),
        // HF's NewGELUActivation: 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))).
        _ => x.mul(Half).mul(x.Plus(x.pow(Cube).mul(CubeCoefficient)).mul(SqrtTwoOverPi).tanh().Plus(RootedScalars.One)),
    };

    /// <summary>
    /// HF casts the feed-forward's hidden states to <c>wo</c>'s dtype, so a <c>wo</c> kept in float32 in a half model
    /// (HF's <c>_keep_in_fp32_modules</c>) takes them.
    /// </summary>
    public static Tensor ToWeightType(Tensor hidden, Linear wo) =>
        hidden.dtype == wo.weight!.dtype ? hidden : hidden.to_type(wo.weight!.dtype);
}
