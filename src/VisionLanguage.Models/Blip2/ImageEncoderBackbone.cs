using VisionLanguage.Models.Vit;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip2;

/// <summary>
/// The ViT of a BLIP-2 image encoder as a module of its own, for the finetunes that train it (LAVIS <c>freeze_vit:
/// False</c>): the same backbone <see cref="FrozenImageEncoder"/> builds, without its final norm, registered by the model
/// that trains it under the family's own prefix (<see cref="FrozenImageEncoder.WeightsPrefix"/>), so an encoder's weights
/// load into it unchanged.
/// </summary>
public static class ImageEncoderBackbone
{
    /// <summary>A fresh backbone of <paramref name="family"/> and <paramref name="config"/>; its initial weights are meant to be overwritten.</summary>
    public static (nn.Module Module, IVisionFeatures Features) Create(ImageEncoderFamily family, VitConfig config)
    {
        using var generator = new Generator(0);
        return family switch
        {
            ImageEncoderFamily.Clip => Pair(new ClipVisionTransformer(config, generator)),
            _ => Pair(new VisionTransformer(config, generator, finalNorm: false)),
        };
    }

    /// <summary>
    /// Whether parameter <paramref name="name"/> (under the model's encoder prefix) belongs to a block past the first
    /// <paramref name="blocksUsed"/>: such a block's output is never read, so it gets no gradient and is not trained.
    /// </summary>
    public static bool IsUnreadBlock(string name, int blocksUsed)
    {
        var match = System.Text.RegularExpressions.Regex.Match(name, @"\.(?:blocks|layers)\.(\d+)\.");
        return match.Success && int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= blocksUsed;
    }

    private static (nn.Module, IVisionFeatures) Pair<T>(T backbone)
        where T : nn.Module, IVisionFeatures => (backbone, backbone);
}
