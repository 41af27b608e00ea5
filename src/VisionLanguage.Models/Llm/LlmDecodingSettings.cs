using VisionLanguage.Models.Decoding;

namespace VisionLanguage.Models.Llm;

/// <summary>
/// How a frozen LLM generates behind a soft prompt (HuggingFace <c>generate</c> as LAVIS's BLIP-2 calls it). Lengths
/// count new tokens only (<c>max_new_tokens</c>): neither the soft prompt nor the text prompt takes any of the budget,
/// which LAVIS issue #707 shows <c>max_length</c> getting wrong.
/// </summary>
public sealed record LlmDecodingSettings
{
    public CaptionSearch Search { get; init; } = CaptionSearch.Beam;

    /// <summary>Beams; 1 is greedy search.</summary>
    public int BeamSize { get; init; } = 5;

    /// <summary>The end token is forbidden before this many new tokens.</summary>
    public int MinNewTokens { get; init; } = 1;

    public int MaxNewTokens { get; init; } = 30;

    /// <summary>Nucleus threshold of sampling.</summary>
    public double TopP { get; init; } = 0.9;

    /// <summary>Top-k applied before the nucleus in sampling (HuggingFace's default 50).</summary>
    public int TopK { get; init; } = NucleusSampling.DefaultTopK;

    /// <summary>HuggingFace's repetition penalty over the generated tokens; 1 turns it off.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>Beam scores are divided by length^this (1 averages, 0 sums, −1 favours short answers).</summary>
    public double LengthPenalty { get; init; } = 1.0;

    /// <summary>Throws, naming the setting, when the search cannot run.</summary>
    public void Check()
    {
        if (BeamSize < 1 || MaxNewTokens < 1 || MinNewTokens < 0 || MinNewTokens > MaxNewTokens || RepetitionPenalty < 1.0)
        {
            throw new ArgumentException(
                $"decoding needs beam_size ≥ 1 (is {BeamSize}), 0 ≤ min_new_tokens ({MinNewTokens}) ≤ max_new_tokens ({MaxNewTokens}), max_new_tokens ≥ 1 and repetition_penalty ≥ 1 (is {RepetitionPenalty})");
        }
    }
}
