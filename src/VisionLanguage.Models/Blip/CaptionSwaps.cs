namespace VisionLanguage.Models.Blip;

/// <summary>
/// One-word edits of captions, learnt from the training captions alone: a token may be replaced by another token the
/// training captions use between the same two neighbours ("a red circle" and "a blue circle" make red and blue
/// interchangeable between "a" and "circle"). An edited caption is as fluent as a true one but, almost always, false
/// of its image, so as an ITM negative it can only be told apart by looking: the single-attribute negatives NegCLIP
/// (Yuksekgonul et al., 2023) adds to contrastive training, found here without a part-of-speech tagger or any list of
/// attribute words. Thread-safe once built.
/// </summary>
public sealed class CaptionSwaps
{
    private readonly Dictionary<(long Left, long Right), long[]> _alternatives;
    private readonly HashSet<long> _fixed;

    private CaptionSwaps(Dictionary<(long Left, long Right), long[]> alternatives, HashSet<long> fixedTokens)
    {
        _alternatives = alternatives;
        _fixed = fixedTokens;
    }

    /// <summary>Contexts (a left and a right neighbour) in which more than one token was seen.</summary>
    public int Contexts => _alternatives.Count;

    /// <summary>
    /// Learns the contexts of <paramref name="captions"/> (token ids, [CLS] … [SEP], unpadded). Tokens in
    /// <paramref name="fixedTokens"/> (the special tokens) are never replaced nor used as replacements, but serve as
    /// neighbours, so a caption's first and last words have contexts too.
    /// </summary>
    public static CaptionSwaps Learn(IEnumerable<IReadOnlyList<long>> captions, IEnumerable<long> fixedTokens)
    {
        var fixedSet = new HashSet<long>(fixedTokens);
        var seen = new Dictionary<(long, long), SortedSet<long>>();
        foreach (var caption in captions)
        {
            for (var i = 1; i < caption.Count - 1; i++)
            {
                if (fixedSet.Contains(caption[i]))
                {
                    continue;
                }

                var context = (caption[i - 1], caption[i + 1]);
                if (!seen.TryGetValue(context, out var tokens))
                {
                    seen[context] = tokens = [];
                }

                tokens.Add(caption[i]);
            }
        }

        var alternatives = seen.Where(entry => entry.Value.Count > 1).ToDictionary(entry => entry.Key, entry => entry.Value.ToArray());
        return new CaptionSwaps(alternatives, fixedSet);
    }

    /// <summary>
    /// Replaces one token of <paramref name="ids"/>' first <paramref name="length"/> in place: the position is chosen
    /// uniformly by <paramref name="positionDraw"/> among those with an alternative, and the alternative uniformly by
    /// <paramref name="tokenDraw"/> (both draws in [0, 1)). Returns false, changing nothing, when no position has one.
    /// </summary>
    public bool TrySwap(Span<long> ids, int length, double positionDraw, double tokenDraw)
    {
        Span<int> positions = stackalloc int[Math.Max(0, length - 2)];
        var count = 0;
        for (var i = 1; i < length - 1; i++)
        {
            // A context is kept only with two or more tokens, so it always offers one besides the token already there.
            if (Alternatives(ids, i) is not null)
            {
                positions[count++] = i;
            }
        }

        if (count == 0)
        {
            return false;
        }

        var position = positions[Pick(positionDraw, count)];
        var alternatives = Alternatives(ids, position)!;
        var own = Array.IndexOf(alternatives, ids[position]);
        var choice = Pick(tokenDraw, own >= 0 ? alternatives.Length - 1 : alternatives.Length);
        ids[position] = own >= 0 && choice >= own ? alternatives[choice + 1] : alternatives[choice];
        return true;
    }

    /// <summary>The share of <paramref name="captions"/> that <see cref="TrySwap"/> can edit.</summary>
    public double EditableShare(IReadOnlyCollection<IReadOnlyList<long>> captions)
    {
        if (captions.Count == 0)
        {
            return 0;
        }

        var editable = captions.Count(caption =>
        {
            var ids = caption.ToArray();
            return TrySwap(ids, ids.Length, 0, 0);
        });
        return (double)editable / captions.Count;
    }

    private long[]? Alternatives(ReadOnlySpan<long> ids, int position) =>
        _fixed.Contains(ids[position]) ? null : _alternatives.GetValueOrDefault((ids[position - 1], ids[position + 1]));

    private static int Pick(double draw, int count) => Math.Clamp((int)(draw * count), 0, count - 1);
}
