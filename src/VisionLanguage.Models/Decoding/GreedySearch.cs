using static TorchSharp.torch;

namespace VisionLanguage.Models.Decoding;

/// <summary>Greedy decoding (HuggingFace <c>greedy_search</c>): the highest-scoring token at every step.</summary>
public static class GreedySearch
{
    /// <summary>Decodes one sequence per row of <paramref name="prompt"/> (rows, P); see <see cref="StepwiseDecoding.Run"/>.</summary>
    public static long[][] Run(IDecoderSession session, Tensor prompt, DecodingRules rules) =>
        StepwiseDecoding.Run(session, prompt, rules, scores => scores.argmax(1));
}
