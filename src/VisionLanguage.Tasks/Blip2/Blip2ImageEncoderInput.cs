using System.Text.Json;
using System.Text.Json.Nodes;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Import;
using VisionLanguage.Models.Vit;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2;

/// <summary>
/// The frozen image encoder of input <c>image_encoder</c>: an imported ViT (<c>model.import</c> of a CLIP or EVA
/// checkpoint) or the <c>visual_encoder</c> of a BLIP checkpoint written earlier in the DAG (pretraining, retrieval,
/// captioning), at the stage's image size, read <c>vision_layer</c> blocks from its end. A stage-1 checkpoint records
/// which encoder it was trained against (<see cref="FileName"/>) instead of copying it.
/// </summary>
public static class Blip2ImageEncoderInput
{
    /// <summary>What a stage-1 checkpoint records of its encoder.</summary>
    public const string FileName = "image_encoder.json";

    public static FrozenImageEncoder Load(InputFolder input, int imageSize, int visionLayer, Device? device)
    {
        var source = $"input image_encoder ({input.Name})";
        var (family, vision, weights) = Describe(input, imageSize);
        var blocks = vision.Depth + 1 + visionLayer;
        if (blocks < 1)
        {
            throw new ArgumentException(
                $"vision_layer {visionLayer} reaches before the first of the {vision.Depth} blocks of {source}; use -1 to -{vision.Depth}");
        }

        return FrozenImageEncoder.Load(family, vision, blocks, weights, device);
    }

    /// <summary>
    /// How the encoder of <paramref name="input"/> is built (its family, and its shape at <paramref name="imageSize"/>) and
    /// where its weights are; refuses an image size that is no multiple of its patch side.
    /// </summary>
    public static (ImageEncoderFamily Family, VitConfig Vision, string WeightsPath) Describe(InputFolder input, int imageSize)
    {
        var source = $"input image_encoder ({input.Name})";
        var (family, vision, weights) = ImportedModelDescription.TryRead(input.Directory) is { } imported
            ? (imported.Family ?? throw new InvalidDataException($"{source} is an imported {imported.Architecture} model, not an image encoder; bind a clip_vit or eva_vit import"),
                imported.Vision!, Path.Combine(input.Directory, CheckpointImport.WeightsFile))
            : (ImageEncoderFamily.Vit, BlipCheckpointDescription.Read(CheckpointFiles.ReadState(input.Directory).Model, source).Model.Vision,
                Path.Combine(input.Directory, CheckpointFiles.Weights));
        if (imageSize % vision.PatchSize != 0)
        {
            throw new ArgumentException(
                $"image_size {imageSize} is not a multiple of the patch side {vision.PatchSize} of {source}; use a multiple such as {vision.ImageSize}");
        }

        return (family, vision with { ImageSize = imageSize }, weights);
    }

    /// <summary>Writes into <paramref name="output"/> which encoder a stage-1 model was trained against and how it was read.</summary>
    public static void Record(string output, InputFolder input, FrozenImageEncoder encoder) =>
        File.WriteAllText(Path.Combine(output, FileName), new JsonObject
        {
            ["artifact"] = input.Name,
            ["content_digest"] = input.ContentDigest,
            ["family"] = JsonSerializer.SerializeToNode(encoder.Family, BlipCheckpointDescription.Json),
            ["vision"] = JsonSerializer.SerializeToNode(encoder.Config, BlipCheckpointDescription.Json),
            ["blocks_used"] = encoder.BlocksUsed,
        }.ToJsonString(BlipCheckpointDescription.Json));
}
