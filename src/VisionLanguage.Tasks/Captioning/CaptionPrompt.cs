using VisionLanguage.Data;

namespace VisionLanguage.Tasks.Captioning;

/// <summary>
/// The text the decoder starts from ("a picture of ") and its ids as BLIP feeds them: [DEC] then the prompt's tokens,
/// without [SEP]. <see cref="Length"/> is also the number of leading positions the caption finetune's LM loss skips
/// (LAVIS <c>prompt_length</c>).
/// </summary>
public sealed record CaptionPrompt
{
    private CaptionPrompt(string text, long[] ids)
    {
        Text = text;
        Ids = ids;
    }

    public string Text { get; }

    /// <summary>[DEC] followed by the prompt's tokens.</summary>
    public IReadOnlyList<long> Ids { get; }

    public int Length => Ids.Count;

    /// <summary>
    /// Tokenises <paramref name="prompt"/>; throws, naming the word and the fix, when a word is not in the vocabulary:
    /// when it becomes [UNK], or when the vocabulary can only spell it letter by letter (a vocabulary built from a
    /// dataset spells unseen words that way), since the pretrained model never read it as a word.
    /// </summary>
    public static CaptionPrompt Tokenize(BlipTokenizer tokenizer, string prompt)
    {
        bool Unknown(string word)
        {
            var pieces = tokenizer.Encode(word, word.Length + 2)[1..^1];
            return pieces.Contains(tokenizer.UnkId) || (word.Length > 1 && pieces.Length == word.Length);
        }

        var unknown = tokenizer.Words(prompt).Where(Unknown).Distinct().ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException(
                $"prompt '{prompt}' has word(s) the vocabulary does not know: {string.Join(", ", unknown.Select(word => $"'{word}'"))}; " +
                "use words of the training captions (the synthetic vocabulary knows 'a picture of'), or set prompt to an empty string");
        }

        var encoded = tokenizer.Encode(prompt, 512);                             // [CLS] … [SEP]
        long[] ids = [tokenizer.DecId, .. encoded[1..^1]];
        return new CaptionPrompt(prompt, ids);
    }
}
