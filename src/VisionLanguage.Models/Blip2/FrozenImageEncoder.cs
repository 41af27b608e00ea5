using TorchSharp;
using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Vit;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip2;

/// <summary>
/// BLIP-2's frozen image encoder (reference §3, §3.3): a ViT in evaluation mode whose parameters need no gradient, read
/// one block short of its depth by default and without its final norm, every token kept. It is not part of the model
/// that trains: batches are made with it, so it never enters the optimiser or a checkpoint. Its weights keep their
/// checkpoint's names: <c>visual_encoder.*</c> for BLIP's ViT and EVA ViT (LAVIS), <c>vision_model.*</c> for CLIP
/// (HF transformers).
/// </summary>
public sealed class FrozenImageEncoder : nn.Module
{
    private readonly nn.Module _backbone;
    private readonly IVisionFeatures _features;

    private FrozenImageEncoder(ImageEncoderFamily family, VitConfig config, int blocksUsed)
        : base(nameof(FrozenImageEncoder))
    {
        using var generator = new Generator(0);
        (_backbone, _features) = family switch
        {
            ImageEncoderFamily.Clip => Pair(new ClipVisionTransformer(config, generator)),
            _ => Pair(new VisionTransformer(config, generator, finalNorm: false)),
        };
        Family = family;
        BlocksUsed = blocksUsed;
        register_module(WeightsPrefix(family), _backbone);
    }

    public ImageEncoderFamily Family { get; }

    public VitConfig Config => _features.Config;

    /// <summary>Blocks whose output is read: the depth minus the blocks dropped.</summary>
    public int BlocksUsed { get; }

    /// <summary>The token width the Q-Former's cross-attention reads.</summary>
    public int Width => Config.Width;

    /// <summary>The name every weight of a <paramref name="family"/> encoder starts with.</summary>
    public static string WeightsPrefix(ImageEncoderFamily family) => family == ImageEncoderFamily.Clip ? "vision_model" : "visual_encoder";

    /// <summary>A BLIP checkpoint's <c>visual_encoder</c>; see <see cref="Load(ImageEncoderFamily, VitConfig, int, string, Device?)"/>.</summary>
    public static FrozenImageEncoder Load(VitConfig config, int blocksUsed, string weightsPath, Device? device = null) =>
        Load(ImageEncoderFamily.Vit, config, blocksUsed, weightsPath, device);

    /// <summary>
    /// The encoder tensors of <paramref name="weightsPath"/> (under <see cref="WeightsPrefix"/>; other names are ignored)
    /// in an encoder of <paramref name="config"/> (position embeddings resized to its image size), frozen, read after
    /// <paramref name="blocksUsed"/> blocks. Every tensor of the encoder must be in the file with its shape.
    /// </summary>
    public static FrozenImageEncoder Load(ImageEncoderFamily family, VitConfig config, int blocksUsed, string weightsPath, Device? device = null)
    {
        if (blocksUsed < 1 || blocksUsed > config.Depth)
        {
            throw new ArgumentOutOfRangeException(
                nameof(blocksUsed), $"the encoder has {config.Depth} blocks; read the output of 1 to {config.Depth} of them (vision_layer -1 to -{config.Depth})");
        }

        var encoder = new FrozenImageEncoder(family, config, blocksUsed);
        try
        {
            BlipWeights.Load(encoder, config.GridSize, weightsPath, WeightsLoading.StrictIgnoringExtra);
            foreach (var parameter in encoder.parameters())
            {
                parameter.requires_grad = false;
            }

            encoder.eval();
            ModelPlacement.PlaceOn(encoder, device);
            encoder.Device = device ?? CPU;
            encoder.DType = FrozenPrecision.For(encoder.Device);
            if (encoder.DType != ScalarType.Float32)
            {
                encoder.to(encoder.DType);
            }

            return encoder;
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    /// <summary>Where the encoder computes.</summary>
    public Device Device { get; private set; } = CPU;

    /// <summary>The dtype its weights are held in (<see cref="FrozenPrecision"/>): bfloat16 on CUDA, float32 on the CPU.</summary>
    public ScalarType DType { get; private set; } = ScalarType.Float32;

    /// <summary>
    /// Images (B, 3, H, W), wherever they are, to the encoder's tokens (B, 1 + patches, width) on its device, without
    /// gradient, in float32 whatever the encoder's own dtype: the tokens enter trained parts (<c>ln_vision</c>, the
    /// Q-Former), which LAVIS also feeds in float32 (<c>image_embeds.float()</c>).
    /// </summary>
    public Tensor Encode(Tensor images)
    {
        using var noGrad = no_grad();
        if (DType == ScalarType.Float32)
        {
            return _features.Features(TensorPlacement.On(images, Device), BlocksUsed);
        }

        using var scope = NewDisposeScope();
        var tokens = _features.Features(images.to(Device).to_type(DType), BlocksUsed);
        return tokens.to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Training mode never reaches the encoder (LAVIS's <c>disabled_train</c>).</summary>
    public override void train(bool train = true) => base.train(false);

    private static (nn.Module, IVisionFeatures) Pair<T>(T backbone)
        where T : nn.Module, IVisionFeatures => (backbone, backbone);
}

/// <summary>How a frozen encoder is built and named.</summary>
public enum ImageEncoderFamily
{
    /// <summary>timm-style ViT under <c>visual_encoder.*</c>: BLIP's own and EVA ViT (LAVIS).</summary>
    Vit,

    /// <summary>CLIP's vision tower under <c>vision_model.*</c> (HF transformers).</summary>
    Clip,
}
