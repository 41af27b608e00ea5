namespace VisionLanguage.Models.Vit;

/// <summary>A ViT image encoder (LAVIS <c>VisionTransformer</c>); the defaults are ViT-B/16 at 224 pixels.</summary>
public sealed record VitConfig
{
    /// <summary>Input side in pixels; the position embeddings cover (ImageSize / PatchSize)² patches plus [CLS].</summary>
    public int ImageSize { get; init; } = 224;

    /// <summary>Patch side in pixels, the stride of the patch-embedding convolution.</summary>
    public int PatchSize { get; init; } = 16;

    /// <summary>Token width (embed_dim in timm); LAVIS calls it vision_width.</summary>
    public int Width { get; init; } = 768;

    /// <summary>Transformer blocks.</summary>
    public int Depth { get; init; } = 12;

    /// <summary>Attention heads per block.</summary>
    public int Heads { get; init; } = 12;

    /// <summary>MLP hidden width as a multiple of <see cref="Width"/>.</summary>
    public int MlpRatio { get; init; } = 4;

    /// <summary>LayerNorm epsilon: timm's ViT uses 1e-6.</summary>
    public double LayerNormEps { get; init; } = 1e-6;

    /// <summary>Patches along one side.</summary>
    public int GridSize => ImageSize / PatchSize;

    /// <summary>Tokens out of the encoder: every patch plus [CLS].</summary>
    public int Tokens => GridSize * GridSize + 1;
}
