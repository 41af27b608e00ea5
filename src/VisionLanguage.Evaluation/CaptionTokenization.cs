namespace VisionLanguage.Evaluation;

/// <summary>
/// The COCO caption evaluation's text preparation (pycocoevalcap <c>PTBTokenizer</c>: Stanford's PTB tokenizer with
/// <c>-lowerCase</c>, then its punctuation tokens dropped), for the plain English of captions: lower-case, split at
/// whitespace, punctuation split off words and dropped, the clitics 's, n't, 're, 've, 'll, 'm and 'd split off as
/// their own tokens (as PTB does), hyphenated words kept whole.
/// </summary>
public static class CaptionTokenization
{
    private static readonly string[] Clitics = ["n't", "'s", "'re", "'ve", "'ll", "'m", "'d"];

    // PTBTokenizer's PUNCTUATIONS, and the brackets PTB turns into -LRB- and the like.
    private static readonly HashSet<string> Punctuation =
        ["''", "'", "``", "`", "(", ")", "{", "}", "[", "]", ".", "?", "!", ",", ":", "-", "--", "...", ";", "\""];

    private static readonly char[] Detached = ['.', ',', '?', '!', ':', ';', '"', '(', ')', '[', ']', '{', '}', '`'];

    /// <summary>The tokens of <paramref name="caption"/> as the COCO evaluation scores them.</summary>
    public static IReadOnlyList<string> Tokenize(string caption)
    {
        var tokens = new List<string>();
        foreach (var word in caption.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var core = word.Trim(Detached).Trim('\'');
            if (core.Length == 0)
            {
                continue;
            }

            var clitic = Clitics.FirstOrDefault(ending => core.Length > ending.Length && core.EndsWith(ending, StringComparison.Ordinal));
            var parts = clitic is null ? [core] : new[] { core[..^clitic.Length], clitic };
            tokens.AddRange(parts.Where(part => !Punctuation.Contains(part)));
        }

        return tokens;
    }
}
