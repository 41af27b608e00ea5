namespace VisionLanguage.Evaluation;

/// <summary>The n-grams (n = 1 … maxN) of a token sequence with their counts (pycocoevalcap <c>precook</c>).</summary>
internal static class NGramCounts
{
    public static Dictionary<string, int> Of(IReadOnlyList<string> tokens, int maxN)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var n = 1; n <= maxN; n++)
        {
            for (var start = 0; start + n <= tokens.Count; start++)
            {
                // Tokens never contain a space (they are split at whitespace), so a space joins them unambiguously.
                var key = string.Join(' ', tokens.Skip(start).Take(n));
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
        }

        return counts;
    }

    /// <summary>The n of an n-gram key.</summary>
    public static int Order(string key) => key.Count(character => character == ' ') + 1;
}
