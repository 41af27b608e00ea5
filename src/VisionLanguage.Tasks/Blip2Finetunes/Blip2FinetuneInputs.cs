using VisionLanguage.Models.Blip2;
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
    /// The finetune's shape: the Q-Former <paramref name="qformer"/>, the init's LLM, and the encoder of
    /// <paramref name="encoderInput"/> (checked against the init's record) at <paramref name="imageSize"/>, read after the
    /// blocks stage 1 read; <paramref name="encoderWeights"/> is where its weights are.
    /// </summary>
    public static Blip2LlmFinetuneConfig Config(Blip2LlmCheckpoint init, InputFolder encoderInput, int imageSize, QFormerConfig qformer, out string encoderWeights)
    {
        init.CheckSource("image_encoder", encoderInput);
        var (family, vision, weights) = Blip2ImageEncoderInput.Describe(encoderInput, imageSize);
        if (vision.Width != init.Encoder.Vision.Width || vision.Depth != init.Encoder.Vision.Depth)
        {
            throw new ArgumentException(
                $"input image_encoder ({encoderInput.Name}) is {vision.Width} wide and {vision.Depth} deep, but {init.Source} reads one {init.Encoder.Vision.Width} wide and {init.Encoder.Vision.Depth} deep; bind the encoder it records ({init.Encoder.Name})");
        }

        encoderWeights = weights;
        return new Blip2LlmFinetuneConfig(qformer, init.Llm, init.LlmWidth, family, vision, init.Encoder.BlocksUsed);
    }
}
