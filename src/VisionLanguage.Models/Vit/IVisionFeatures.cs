using static TorchSharp.torch;

namespace VisionLanguage.Models.Vit;

/// <summary>A ViT whose tokens can be read after any number of its blocks, without its final norm (what BLIP-2 reads of a frozen encoder).</summary>
public interface IVisionFeatures
{
    VitConfig Config { get; }

    /// <summary>Images (B, 3, H, W) to tokens (B, 1 + patches, width) after the first <paramref name="blocksUsed"/> blocks.</summary>
    Tensor Features(Tensor images, int blocksUsed);
}
