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
/// HuggingFace's (CTRL's) repetition penalty: the score of every token already in the sequence, prompt included, is
/// divided by it when positive and multiplied when negative; 1 turns it off.
/// </param>
public sealed record DecodingRules(int MinLength, int MaxLength, long SepId, long PadId, double RepetitionPenalty = 1.0)
{
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
