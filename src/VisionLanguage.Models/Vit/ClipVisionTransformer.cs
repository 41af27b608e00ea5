using TorchSharp.Modules;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Vit;

/// <summary>
/// CLIP's vision tower in HF transformers' naming (<c>CLIPVisionTransformer</c>, reference §3.2b): a patch convolution
/// without bias, a class embedding and position embeddings (an embedding table over positions), <c>pre_layrnorm</c> (the
/// typo is the published name), pre-norm layers with separate q/k/v projections and QuickGELU. BLIP-2 reads it one layer
/// short and never applies <c>post_layernorm</c>, so this module has none: a checkpoint's is checked at import and left.
/// </summary>
public sealed class ClipVisionTransformer : nn.Module<Tensor, Tensor>, IVisionFeatures
{
    private readonly ClipVisionEmbeddings embeddings;
    private readonly LayerNorm pre_layrnorm;
    private readonly ClipEncoder encoder;

    public ClipVisionTransformer(VitConfig config, Generator generator)
        : base(nameof(ClipVisionTransformer))
    {
        if (config.ImageSize % config.PatchSize != 0 || config.Width % config.Heads != 0)
        {
            throw new ArgumentException(
                $"a CLIP vision tower needs its patch size ({config.PatchSize}) to divide its image size ({config.ImageSize}) and its heads ({config.Heads}) to divide its width ({config.Width})",
                nameof(config));
        }

        Config = config;
        embeddings = new ClipVisionEmbeddings(config, generator);
        pre_layrnorm = nn.LayerNorm(config.Width, eps: config.LayerNormEps);
        encoder = new ClipEncoder(config, generator);
        RegisterComponents();
    }

    public VitConfig Config { get; }

    /// <summary>Tokens after every layer.</summary>
    public override Tensor forward(Tensor images) => Features(images, Config.Depth);

    public Tensor Features(Tensor images, int blocksUsed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocksUsed, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blocksUsed, Config.Depth);
        using var scope = NewDisposeScope();
        var x = pre_layrnorm.call(embeddings.call(images)); // (B, 1 + P, D)
        return encoder.Forward(x, blocksUsed).MoveToOuterDisposeScope();
    }
}

/// <summary>HF <c>CLIPVisionEmbeddings</c>: [class ; patches] plus position embeddings.</summary>
public sealed class ClipVisionEmbeddings : nn.Module<Tensor, Tensor>
{
    private readonly Parameter class_embedding;
    private readonly Conv2d patch_embedding;
    private readonly Embedding position_embedding;
    private readonly int _imageSize;

    public ClipVisionEmbeddings(VitConfig config, Generator generator)
        : base(nameof(ClipVisionEmbeddings))
    {
        _imageSize = config.ImageSize;
        class_embedding = new Parameter(zeros(config.Width, device: CPU));
        patch_embedding = nn.Conv2d(3, config.Width, config.PatchSize, stride: config.PatchSize, bias: false);
        position_embedding = nn.Embedding(config.Tokens, config.Width);
        BlipInit.TruncatedNormal(class_embedding, 0.02, generator);
        BlipInit.Default(patch_embedding.weight!, null, generator);
        BlipInit.TruncatedNormal(position_embedding.weight!, 0.02, generator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != 3 || images.shape[2] != _imageSize || images.shape[3] != _imageSize)
        {
            throw new ArgumentException(
                $"images must be (batch, 3, {_imageSize}, {_imageSize}), the encoder's image size; got ({string.Join(", ", images.shape)})", nameof(images));
        }

        using var scope = NewDisposeScope();
        var patches = patch_embedding.call(images).flatten(2).transpose(1, 2);     // (B, P, D)
        var cls = class_embedding.reshape(1, 1, -1).expand(patches.shape[0], 1, -1); // (B, 1, D)
        return cat([cls, patches], dim: 1).Plus(position_embedding.weight!.unsqueeze(0)).MoveToOuterDisposeScope();
    }
}

/// <summary>HF <c>CLIPEncoder</c>: the layers.</summary>
public sealed class ClipEncoder : nn.Module
{
    private readonly ModuleList<ClipEncoderLayer> layers;

    public ClipEncoder(VitConfig config, Generator generator)
        : base(nameof(ClipEncoder))
    {
        layers = new ModuleList<ClipEncoderLayer>([.. Enumerable.Range(0, config.Depth).Select(_ => new ClipEncoderLayer(config, generator))]);
        RegisterComponents();
    }

    /// <summary>The tokens after the first <paramref name="count"/> layers.</summary>
    public Tensor Forward(Tensor x, int count)
    {
        using var scope = NewDisposeScope();
        for (var n = 0; n < count; n++)
        {
            x = layers[n].call(x);
        }

        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>HF <c>CLIPEncoderLayer</c>: x + attn(layer_norm1(x)), then x + mlp(layer_norm2(x)); its MLP (<c>CLIPMLP</c>: fc1, QuickGELU, fc2) is the ViT's.</summary>
public sealed class ClipEncoderLayer : nn.Module<Tensor, Tensor>
{
    private readonly ClipAttention self_attn;
    private readonly LayerNorm layer_norm1;
    private readonly VisionMlp mlp;
    private readonly LayerNorm layer_norm2;

    public ClipEncoderLayer(VitConfig config, Generator generator)
        : base(nameof(ClipEncoderLayer))
    {
        self_attn = new ClipAttention(config, generator);
        layer_norm1 = nn.LayerNorm(config.Width, eps: config.LayerNormEps);
        mlp = new VisionMlp(config, generator);
        layer_norm2 = nn.LayerNorm(config.Width, eps: config.LayerNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = x.Plus(self_attn.call(layer_norm1.call(x)));
        x = x.Plus(mlp.call(layer_norm2.call(x)));
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>HF <c>CLIPAttention</c>: separate q/k/v projections with biases, softmax(q·kᵀ/√head_dim)·v, out_proj.</summary>
public sealed class ClipAttention : nn.Module<Tensor, Tensor>
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear out_proj;
    private readonly long _heads;

    public ClipAttention(VitConfig config, Generator generator)
        : base(nameof(ClipAttention))
    {
        _heads = config.Heads;
        q_proj = nn.Linear(config.Width, config.Width);
        k_proj = nn.Linear(config.Width, config.Width);
        v_proj = nn.Linear(config.Width, config.Width);
        out_proj = nn.Linear(config.Width, config.Width);
        foreach (var linear in new[] { q_proj, k_proj, v_proj, out_proj })
        {
            BlipInit.TruncatedNormal(linear, 0.02, generator);
        }

        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (batch, tokens, width) = (x.shape[0], x.shape[1], x.shape[2]);
        Tensor Heads(Linear projection) => projection.call(x).reshape(batch, tokens, _heads, width / _heads).transpose(1, 2); // (B, heads, N, head_dim)
        var attended = nn.functional.scaled_dot_product_attention(Heads(q_proj), Heads(k_proj), Heads(v_proj)); // (B, heads, N, head_dim)
        return out_proj.call(attended.transpose(1, 2).reshape(batch, tokens, width)).MoveToOuterDisposeScope();
    }
}
