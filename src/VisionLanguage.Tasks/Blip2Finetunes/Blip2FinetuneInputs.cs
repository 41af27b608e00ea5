using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Vit;
using VisionLanguage.Tasks.Blip2;
using VisionLanguage.Tasks.Running;

namespace VisionLanguage.Tasks.Blip2Finetunes;

/// <summary>What the BLIP-2 finetunes read of their inputs the same way.</summary>
internal static class Blip2FinetuneInputs
{
    public static async Task<InputFolder> SingleAsync(TaskRun run, string kind, string input, string what, CancellationToken cancellationToken) =>
        (await run.Inputs.FetchAsync(input, cancellationToken)).SingleOrDefault()
        ?? throw new InvalidOperationException($"{kind} needs input {input}; bind it to {what}");

    /// <summary>
    /// The image encoder of <paramref name="encoderInput"/>, which starts the encoder a finetune trains: how it is built,
    /// its shape at <paramref name="imageSize"/> and where its weights are. Refuses another artifact than the one
    /// <paramref name="record"/> (the init's, <paramref name="source"/>) names when both have content digests, and another shape.
    /// </summary>
    public static (ImageEncoderFamily Family, VitConfig Vision, string WeightsPath) Encoder(string source, Blip2EncoderRecord record, InputFolder encoderInput, int imageSize)
    {
        if (record.Digest is not null && encoderInput.ContentDigest is not null && record.Digest != encoderInput.ContentDigest)
        {
            throw new ArgumentException(
                $"input image_encoder is {encoderInput.Name} ({encoderInput.ContentDigest}), but {source} was built on {record.Name} ({record.Digest}); bind image_encoder to the artifact it records");
        }

        var (family, vision, weights) = Blip2ImageEncoderInput.Describe(encoderInput, imageSize);
        if (vision.Width != record.Vision.Width || vision.Depth != record.Vision.Depth)
        {
            throw new ArgumentException(
                $"input image_encoder ({encoderInput.Name}) is {vision.Width} wide and {vision.Depth} deep, but {source} reads one {record.Vision.Width} wide and {record.Vision.Depth} deep; bind the encoder it records ({record.Name})");
        }

        return (family, vision, weights);
    }
}
