using System.Text.Json;
using System.Text.Json.Nodes;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Tasks.Running;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2;

/// <summary>
/// The frozen image encoder of input <c>image_encoder</c>: the <c>visual_encoder</c> of a BLIP checkpoint written earlier
/// in the DAG (pretraining, retrieval, captioning), at the stage's image size, read <c>vision_layer</c> blocks from its
/// end. A stage-1 checkpoint records which encoder it was trained against (<see cref="FileName"/>) instead of copying it.
/// </summary>
public static class Blip2ImageEncoderInput
{
    /// <summary>What a stage-1 checkpoint records of its encoder.</summary>
    public const string FileName = "image_encoder.json";

    public static FrozenImageEncoder Load(InputFolder input, int imageSize, int visionLayer, Device? device)
    {
        var source = $"input image_encoder ({input.Name})";
        var state = CheckpointFiles.ReadState(input.Directory);
        var (model, _) = BlipCheckpointDescription.Read(state.Model, source);
        if (imageSize % model.Vision.PatchSize != 0)
        {
            throw new ArgumentException(
                $"image_size {imageSize} is not a multiple of the patch side {model.Vision.PatchSize} of {source}; use a multiple such as {model.Vision.ImageSize}");
        }

        var blocks = model.Vision.Depth + 1 + visionLayer;
        if (blocks < 1)
        {
            throw new ArgumentException(
                $"vision_layer {visionLayer} reaches before the first of the {model.Vision.Depth} blocks of {source}; use -1 to -{model.Vision.Depth}");
        }

        return FrozenImageEncoder.Load(model.Vision with { ImageSize = imageSize }, blocks, Path.Combine(input.Directory, CheckpointFiles.Weights), device);
    }

    /// <summary>Writes into <paramref name="output"/> which encoder a stage-1 model was trained against and how it was read.</summary>
    public static void Record(string output, InputFolder input, FrozenImageEncoder encoder) =>
        File.WriteAllText(Path.Combine(output, FileName), new JsonObject
        {
            ["artifact"] = input.Name,
            ["content_digest"] = input.ContentDigest,
            ["vision"] = JsonSerializer.SerializeToNode(encoder.Config, BlipCheckpointDescription.Json),
            ["blocks_used"] = encoder.BlocksUsed,
        }.ToJsonString(BlipCheckpointDescription.Json));
}
