using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Decoding;

/// <summary>
/// Nucleus sampling (HuggingFace <c>sample</c> with its warpers): after the rules, scores outside the top k and then
/// outside the top-p nucleus are removed, and a token is drawn from the softmax of the rest with the caller's
/// generator, so a seed gives the same captions.
/// </summary>
public static class NucleusSampling
{
    /// <summary>HuggingFace's default top_k, which BLIP's sampling leaves in force.</summary>
    public const int DefaultTopK = 50;

    /// <param name="session">The decoder, opened with the prompt's rows (several rows per image give several samples).</param>
    /// <param name="prompt">Prompt ids (rows, P), [DEC] first.</param>
    /// <param name="rules">Lengths, special tokens, repetition penalty.</param>
    /// <param name="topP">Nucleus: the kept tokens' probability just exceeds it.</param>
    /// <param name="topK">Tokens kept before the nucleus is taken; 0 keeps all.</param>
    /// <param name="generator">The draws' source of randomness.</param>
    public static long[][] Run(IDecoderSession session, Tensor prompt, DecodingRules rules, double topP, int topK, Generator generator) =>
        StepwiseDecoding.Run(session, prompt, rules, scores =>
        {
            var kept = LogitsProcessing.TopP(LogitsProcessing.TopK(scores, topK), topP);
            return DeviceRandom.Multinomial(kept.softmax(1), 1, generator).squeeze(1);
        });
}
