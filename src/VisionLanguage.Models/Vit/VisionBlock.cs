using TorchSharp.Modules;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Vit;

/// <summary>A pre-norm ViT block (timm <c>Block</c>): x + attn(norm1(x)), then x + mlp(norm2(x)).</summary>
public sealed class VisionBlock : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1;
    private readonly VisionAttention attn;
    private readonly LayerNorm norm2;
    private readonly VisionMlp mlp;

    public VisionBlock(VitConfig config, Generator generator)
        : base(nameof(VisionBlock))
    {
        norm1 = nn.LayerNorm(config.Width, eps: config.LayerNormEps);
        attn = new VisionAttention(config, generator);
        norm2 = nn.LayerNorm(config.Width, eps: config.LayerNormEps);
        mlp = new VisionMlp(config, generator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = x.Plus(attn.call(norm1.call(x)));
        x = x.Plus(mlp.call(norm2.call(x)));
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Multi-head self-attention with one fused qkv projection (timm <c>Attention</c>, qkv_bias on as in BLIP). EVA's
/// variant (<see cref="VitQkvBias.QueryValue"/>) has no bias on the projection but separate <c>q_bias</c> and
/// <c>v_bias</c>: the key gets none.
/// </summary>
public sealed class VisionAttention : nn.Module<Tensor, Tensor>
{
    private readonly Linear qkv;
    private readonly Parameter? q_bias;
    private readonly Parameter? v_bias;
    private readonly Linear proj;
    private readonly long _heads;

    public VisionAttention(VitConfig config, Generator generator)
        : base(nameof(VisionAttention))
    {
        _heads = config.Heads;
        var separateBiases = config.QkvBias == VitQkvBias.QueryValue;
        qkv = nn.Linear(config.Width, 3L * config.Width, hasBias: !separateBiases);
        if (separateBiases)
        {
            q_bias = new Parameter(zeros(config.Width, device: CPU));
            v_bias = new Parameter(zeros(config.Width, device: CPU));
        }

        proj = nn.Linear(config.Width, config.Width);
        BlipInit.TruncatedNormal(qkv, 0.02, generator);
        BlipInit.TruncatedNormal(proj, 0.02, generator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (batch, tokens, width) = (x.shape[0], x.shape[1], x.shape[2]);
        var projected = q_bias is null || v_bias is null
            ? qkv.call(x)
            : nn.functional.linear(x, qkv.weight!, cat([q_bias, zeros_like(v_bias), v_bias]));
        var parts = projected
            .reshape(batch, tokens, 3, _heads, width / _heads) // (B, N, 3, heads, head_dim)
            .permute(2, 0, 3, 1, 4);                          // (3, B, heads, N, head_dim)
        // Softmax(q·kᵀ / √head_dim)·v; the ViT has no attention dropout, so the fused kernel is exact here.
        var attended = nn.functional.scaled_dot_product_attention(parts[0], parts[1], parts[2]); // (B, heads, N, head_dim)
        var merged = attended.transpose(1, 2).reshape(batch, tokens, width);                     // (B, N, D)
        return proj.call(merged).MoveToOuterDisposeScope();
    }
}

/// <summary>The block's MLP (timm <c>Mlp</c>): fc1, the activation (exact GELU but in CLIP), fc2.</summary>
public sealed class VisionMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly VitActivation _activation;

    public VisionMlp(VitConfig config, Generator generator)
        : base(nameof(VisionMlp))
    {
        _activation = config.Activation;
        fc1 = nn.Linear(config.Width, config.MlpWidth);
        fc2 = nn.Linear(config.MlpWidth, config.Width);
        BlipInit.TruncatedNormal(fc1, 0.02, generator);
        BlipInit.TruncatedNormal(fc2, 0.02, generator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return fc2.call(Activate(fc1.call(x), _activation)).MoveToOuterDisposeScope();
    }

    /// <summary>The activation of a ViT's MLP.</summary>
    public static Tensor Activate(Tensor x, VitActivation activation) => activation switch
    {
        VitActivation.QuickGelu => x.mul(sigmoid(x.mul(1.702))),
        _ => nn.functional.gelu(x),
    };
}
