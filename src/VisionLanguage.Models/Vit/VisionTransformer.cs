using TorchSharp.Modules;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Vit;

/// <summary>
/// The image encoder (LAVIS <c>VisionTransformer</c>, the <c>visual_encoder</c>): a convolutional patch embedding, a
/// learned [CLS] token and position embeddings, pre-norm blocks and a final LayerNorm. Its output's first token is the
/// global image representation; all tokens feed the text transformer's cross-attention.
/// </summary>
public sealed class VisionTransformer : nn.Module<Tensor, Tensor>, IVisionFeatures
{
    private readonly PatchEmbed patch_embed;
    private readonly Parameter cls_token;
    private readonly Parameter pos_embed;
    private readonly ModuleList<VisionBlock> blocks;
    private readonly LayerNorm? norm;

    /// <param name="config">The shape.</param>
    /// <param name="generator">Draws the initial weights.</param>
    /// <param name="finalNorm">Whether the encoder ends in its LayerNorm; a frozen BLIP-2 encoder (<see cref="Features"/>) has none (LAVIS drops EVA's).</param>
    public VisionTransformer(VitConfig config, Generator generator, bool finalNorm = true)
        : base(nameof(VisionTransformer))
    {
        if (config.ImageSize % config.PatchSize != 0)
        {
            throw new ArgumentException(
                $"patch size {config.PatchSize} must divide image size {config.ImageSize}; pick sizes such as 224 and 16", nameof(config));
        }

        if (config.Width % config.Heads != 0)
        {
            throw new ArgumentException($"{config.Heads} vision heads must divide vision width {config.Width}", nameof(config));
        }

        Config = config;
        patch_embed = new PatchEmbed(config, generator);
        cls_token = new Parameter(zeros(1, 1, config.Width, device: CPU));
        pos_embed = new Parameter(zeros(1, config.Tokens, config.Width, device: CPU));
        blocks = new ModuleList<VisionBlock>([.. Enumerable.Range(0, config.Depth).Select(_ => new VisionBlock(config, generator))]);
        norm = finalNorm ? nn.LayerNorm(config.Width, eps: config.LayerNormEps) : null;
        BlipInit.TruncatedNormal(pos_embed, 0.02, generator);
        BlipInit.TruncatedNormal(cls_token, 0.02, generator);

        RegisterComponents();
    }

    public VitConfig Config { get; }

    /// <summary>Images (B, 3, H, W) to tokens (B, 1 + patches, width), [CLS] first.</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var patches = patch_embed.call(images);                                         // (B, P, D)
        var cls = cls_token.expand(patches.shape[0], -1, -1);                          // (B, 1, D)
        var x = cat([cls, patches], dim: 1).Plus(pos_embed.narrow(1, 0, patches.shape[1] + 1)); // (B, 1 + P, D)
        foreach (var block in blocks)
        {
            x = block.call(x);
        }

        return (norm is null ? x : norm.call(x)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The tokens (B, 1 + patches, width) after the first <paramref name="blocksUsed"/> blocks, without the final
    /// LayerNorm: what BLIP-2 reads of a frozen encoder (LAVIS builds EVA ViT-g and CLIP ViT-L one block short and drops
    /// their final norm, applying its own <c>ln_vision</c>).
    /// </summary>
    public Tensor Features(Tensor images, int blocksUsed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocksUsed, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blocksUsed, blocks.Count);
        using var scope = NewDisposeScope();
        var patches = patch_embed.call(images);                                         // (B, P, D)
        var cls = cls_token.expand(patches.shape[0], -1, -1);                          // (B, 1, D)
        var x = cat([cls, patches], dim: 1).Plus(pos_embed.narrow(1, 0, patches.shape[1] + 1)); // (B, 1 + P, D)
        for (var n = 0; n < blocksUsed; n++)
        {
            x = blocks[n].call(x);
        }

        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>Non-overlapping patches to tokens through a strided convolution (timm <c>PatchEmbed</c>).</summary>
public sealed class PatchEmbed : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d proj;
    private readonly int _imageSize;

    public PatchEmbed(VitConfig config, Generator generator)
        : base(nameof(PatchEmbed))
    {
        _imageSize = config.ImageSize;
        proj = nn.Conv2d(3, config.Width, config.PatchSize, stride: config.PatchSize);
        BlipInit.Default(proj.weight!, proj.bias, generator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != 3 || images.shape[2] != _imageSize || images.shape[3] != _imageSize)
        {
            throw new ArgumentException(
                $"images must be (batch, 3, {_imageSize}, {_imageSize}), the model's image_size; got ({string.Join(", ", images.shape)})",
                nameof(images));
        }

        using var scope = NewDisposeScope();
        return proj.call(images)   // (B, D, H/P, W/P)
            .flatten(2)            // (B, D, P)
            .transpose(1, 2)       // (B, P, D)
            .MoveToOuterDisposeScope();
    }
}
