using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Vit;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Bench;

/// <summary>
/// A frozen image encoder of random weights (speed does not depend on them), loaded the way stage 1 loads a real one:
/// a ViT's weights under <c>visual_encoder.</c> in a safetensors file, read by <see cref="FrozenImageEncoder.Load(VitConfig, int, string, Device?)"/>.
/// The file lives in a temporary folder only while it is read.
/// </summary>
internal static class RandomFrozenEncoder
{
    private const string Prefix = "visual_encoder.";

    /// <summary>ViT-L/14 at 224 pixels: the shape of CLIP ViT-L/14, the smaller of BLIP-2's two frozen encoders.</summary>
    public static VitConfig VitL14 { get; } = new()
    {
        ImageSize = 224,
        PatchSize = 14,
        Width = 1024,
        Depth = 24,
        Heads = 16,
        MlpRatio = 4,
        LayerNormEps = 1e-5,
    };

    /// <summary>A frozen encoder of <paramref name="config"/> read after <paramref name="blocksUsed"/> blocks, its weights drawn from <paramref name="seed"/>.</summary>
    public static FrozenImageEncoder Create(VitConfig config, int blocksUsed, ulong seed)
    {
        var folder = Directory.CreateTempSubdirectory("blip2-stage1-bench-");
        try
        {
            var weights = Path.Combine(folder.FullName, "visual_encoder.safetensors");
            using (var generator = new Generator(seed))
            using (var encoder = new VisionTransformer(config, generator))
            {
                Safetensors.Save(weights, BlipWeights.DistinctState(encoder).Select(entry => (Prefix + entry.Name, entry.Tensor)));
            }

            return FrozenImageEncoder.Load(config, blocksUsed, weights);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
