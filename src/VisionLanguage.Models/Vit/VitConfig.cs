using System.Text.Json.Serialization;

namespace VisionLanguage.Models.Vit;

/// <summary>
/// A ViT image encoder (LAVIS <c>VisionTransformer</c>); the defaults are BLIP's ViT-B/16 at 224 pixels. The frozen
/// encoders BLIP-2 reads vary it: EVA ViT-g has a feed-forward width that is no multiple of its width and q/v biases
/// only; CLIP uses QuickGELU. Settings at their default are not written, so BLIP checkpoints describe their ViT as before.
/// </summary>
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

    /// <summary>MLP hidden width as a multiple of <see cref="Width"/>, unless <see cref="MlpHidden"/> is set.</summary>
    public int MlpRatio { get; init; } = 4;

    /// <summary>MLP hidden width when it is no whole multiple of the width (EVA ViT-g: 6144 for 1408).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MlpHidden { get; init; }

    /// <summary>Which of the attention's query, key and value projections have a bias.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public VitQkvBias QkvBias { get; init; } = VitQkvBias.All;

    /// <summary>The MLP's activation.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public VitActivation Activation { get; init; } = VitActivation.Gelu;

    /// <summary>LayerNorm epsilon: timm's ViT uses 1e-6.</summary>
    public double LayerNormEps { get; init; } = 1e-6;

    /// <summary>Patches along one side.</summary>
    public int GridSize => ImageSize / PatchSize;

    /// <summary>Tokens out of the encoder: every patch plus [CLS].</summary>
    public int Tokens => GridSize * GridSize + 1;

    /// <summary>The MLP's hidden width.</summary>
    [JsonIgnore]
    public int MlpWidth => MlpHidden ?? MlpRatio * Width;
}

/// <summary>Biases of a ViT's query, key and value projections.</summary>
public enum VitQkvBias
{
    /// <summary>One bias over the fused projection (timm, BLIP; CLIP's separate projections).</summary>
    All,

    /// <summary>Query and value biases, none for the key (EVA, BEiT: <c>q_bias</c> and <c>v_bias</c>).</summary>
    QueryValue,
}

/// <summary>A ViT MLP's activation.</summary>
public enum VitActivation
{
    /// <summary>Exact (erf) GELU: timm, BLIP, EVA.</summary>
    Gelu,

    /// <summary>x·σ(1.702x): OpenAI CLIP.</summary>
    QuickGelu,
}
