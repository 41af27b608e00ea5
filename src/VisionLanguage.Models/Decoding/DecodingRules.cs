namespace VisionLanguage.Models.Decoding;

/// <summary>
/// What every search obeys. Lengths count the whole decoder sequence, [DEC] and the prompt included, as HuggingFace's
/// <c>generate</c> (which BLIP and LAVIS call) counts them: with the prompt "[DEC] a picture of", max_length 20 leaves
/// 16 tokens for the caption and its [SEP].
/// </summary>
/// <param name="MinLength">[SEP] is forbidden while the sequence is shorter than this.</param>
/// <param name="MaxLength">Decoding stops when the sequence has this many tokens.</param>
/// <param name="SepId">[SEP]: ends a caption.</param>
/// <param name="PadId">[PAD]: fills a row that has ended while others go on.</param>
/// <param name="RepetitionPenalty">
/// HuggingFace's (CTRL's) repetition penalty: the score of every token already in the sequence (after
/// <see cref="UncountedPrefix"/>) is divided by it when positive and multiplied when negative; 1 turns it off.
/// </param>
public sealed record DecodingRules(int MinLength, int MaxLength, long SepId, long PadId, double RepetitionPenalty = 1.0)
{
    /// <summary>
    /// Beam search scores a hypothesis by its summed log-probability divided by its length to this power (HuggingFace's
    /// length_penalty): 1 averages, 0 sums, and a negative value favours short answers (BLIP-2's zero-shot VQA: −1).
    /// </summary>
    public double LengthPenalty { get; init; } = 1.0;

    /// <summary>
    /// Leading tokens of every row that the length penalty and the repetition penalty leave out: 0 for BLIP, whose
    /// prompt is part of the decoder's sequence; the prompt's length for an LLM behind a soft prompt, whose prompt
    /// HuggingFace passes as embeddings, so that only new tokens count (<see cref="ForNewTokens"/>).
    /// </summary>
    public int UncountedPrefix { get; init; }

    /// <summary>
    /// HuggingFace's <c>max_new_tokens</c> semantics after a prompt of <paramref name="promptLength"/> tokens: at least
    /// <paramref name="minNewTokens"/> and at most <paramref name="maxNewTokens"/> tokens are generated, whatever the
    /// prompt (soft or text) takes, and the penalties see only generated tokens.
    /// </summary>
    public static DecodingRules ForNewTokens(
        int promptLength, int minNewTokens, int maxNewTokens, long endId, long padId, double repetitionPenalty = 1.0, double lengthPenalty = 1.0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(minNewTokens);
        return new DecodingRules(promptLength + minNewTokens, promptLength + maxNewTokens, endId, padId, repetitionPenalty)
        {
            LengthPenalty = lengthPenalty,
            UncountedPrefix = promptLength,
        };
    }

    /// <summary>The length a hypothesis of <paramref name="tokens"/> tokens is scored by (at least 1).</summary>
    public double ScoredLength(int tokens) => Math.Pow(Math.Max(1, tokens - UncountedPrefix), LengthPenalty);

    /// <summary>Throws, naming the fix, unless a prompt of <paramref name="promptLength"/> tokens leaves room to decode.</summary>
    public void CheckPrompt(int promptLength)
    {
        if (MaxLength <= promptLength)
        {
            throw new ArgumentException(
                $"max_length {MaxLength} leaves no room after the prompt's {promptLength} tokens ([DEC] included; lengths count the prompt, " +
                $"as in HuggingFace generate); raise max_length above {promptLength}");
        }

        if (MinLength > MaxLength)
        {
            throw new ArgumentException($"min_length {MinLength} is above max_length {MaxLength}; lower it");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(RepetitionPenalty, 1.0);
    }
}
