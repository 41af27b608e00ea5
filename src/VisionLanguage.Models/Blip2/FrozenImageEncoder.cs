using VisionLanguage.Models.Layers;
using VisionLanguage.Models.Vit;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip2;

/// <summary>
/// BLIP-2's frozen image encoder (reference §3, §3.3): a ViT in evaluation mode whose parameters need no gradient, read
/// one block short of its depth by default and without its final norm, every token kept. It is not part of the model
/// that trains: batches are made with it, so it never enters the optimiser or a checkpoint. Its checkpoint name is
/// <c>visual_encoder</c>, as in every BLIP and LAVIS checkpoint.
/// </summary>
public sealed class FrozenImageEncoder : nn.Module
{
    private readonly VisionTransformer visual_encoder;

    private FrozenImageEncoder(VitConfig config, int blocksUsed)
        : base(nameof(FrozenImageEncoder))
    {
        using var generator = new Generator(0);
        visual_encoder = new VisionTransformer(config, generator);
        BlocksUsed = blocksUsed;
        RegisterComponents();
    }

    public VitConfig Config => visual_encoder.Config;

    /// <summary>Blocks whose output is read: the depth minus the blocks dropped.</summary>
    public int BlocksUsed { get; }

    /// <summary>The token width the Q-Former's cross-attention reads.</summary>
    public int Width => Config.Width;

    /// <summary>
    /// The <c>visual_encoder.*</c> tensors of <paramref name="weightsPath"/> (a BLIP checkpoint's weights) in a ViT of
    /// <paramref name="config"/> (position embeddings resized to its image size), frozen, read after
    /// <paramref name="blocksUsed"/> blocks. Every tensor of the encoder must be in the file with its shape.
    /// </summary>
    public static FrozenImageEncoder Load(VitConfig config, int blocksUsed, string weightsPath, Device? device = null)
    {
        if (blocksUsed < 1 || blocksUsed > config.Depth)
        {
            throw new ArgumentOutOfRangeException(
                nameof(blocksUsed), $"the encoder has {config.Depth} blocks; read the output of 1 to {config.Depth} of them (vision_layer -1 to -{config.Depth})");
        }

        var encoder = new FrozenImageEncoder(config, blocksUsed);
        try
        {
            BlipWeights.Load(encoder, config.GridSize, weightsPath, WeightsLoading.StrictIgnoringExtra);
            foreach (var parameter in encoder.parameters())
            {
                parameter.requires_grad = false;
            }

            encoder.eval();
            ModelPlacement.PlaceOn(encoder, device);

            return encoder;
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    /// <summary>Images (B, 3, H, W) to the encoder's tokens (B, 1 + patches, width), without gradient.</summary>
    public Tensor Encode(Tensor images)
    {
        using var noGrad = no_grad();
        return visual_encoder.Features(images, BlocksUsed);
    }

    /// <summary>Training mode never reaches the encoder (LAVIS's <c>disabled_train</c>).</summary>
    public override void train(bool train = true) => base.train(false);
}
