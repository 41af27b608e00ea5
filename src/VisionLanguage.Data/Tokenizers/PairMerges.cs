namespace VisionLanguage.Data.Tokenizers;

/// <summary>
/// The BPE merge learner both trainers share. Words are symbol sequences with counts; each step merges, in every word,
/// the adjacent pair that occurs most often (a word's count times its occurrences in it). Ties go to the ordinally
/// smallest left symbol, then the smallest right symbol, so the merges depend on the words and counts alone, not on
/// their order. Counts are kept incrementally: a step touches only the words that hold its pair.
/// </summary>
internal static class PairMerges
{
    /// <summary>What <see cref="Learn"/> found.</summary>
    /// <param name="Merges">The merges in the order learned (rank 0 first).</param>
    /// <param name="NewSymbols">The symbols the merges made that the vocabulary did not have, in the order made.</param>
    /// <param name="Segmentations">Each word as the merges leave it, in the input's order.</param>
    public sealed record Result(IReadOnlyList<(string Left, string Right)> Merges, IReadOnlyList<string> NewSymbols, IReadOnlyList<string[]> Segmentations);

    /// <summary>
    /// Merges until <paramref name="newSymbolBudget"/> symbols absent from <paramref name="vocabulary"/> have been made,
    /// or the most frequent pair occurs fewer than <paramref name="minPairCount"/> times, or no pair is left. A merge that
    /// makes a symbol the vocabulary already has (<c>ab·c</c> after <c>a·bc</c>) is kept and costs nothing.
    /// </summary>
    public static Result Learn(IReadOnlyList<(string[] Symbols, long Count)> words, IEnumerable<string> vocabulary, int newSymbolBudget, long minPairCount)
    {
        var symbols = new List<string>();
        var symbolIds = new Dictionary<string, int>(StringComparer.Ordinal);
        int Intern(string symbol)
        {
            if (!symbolIds.TryGetValue(symbol, out var id))
            {
                id = symbols.Count;
                symbols.Add(symbol);
                symbolIds[symbol] = id;
            }

            return id;
        }

        var wordSymbols = words.Select(word => word.Symbols.Select(Intern).ToList()).ToArray();
        var pairCounts = new Dictionary<(int Left, int Right), long>();
        var pairWords = new Dictionary<(int Left, int Right), HashSet<int>>();
        var changed = new HashSet<(int Left, int Right)>();

        void Count(int word, List<int> sequence, long sign)
        {
            for (var i = 0; i + 1 < sequence.Count; i++)
            {
                var pair = (sequence[i], sequence[i + 1]);
                var count = pairCounts.GetValueOrDefault(pair) + (sign * words[word].Count);
                if (count == 0)
                {
                    pairCounts.Remove(pair);
                }
                else
                {
                    pairCounts[pair] = count;
                }

                if (sign > 0)
                {
                    if (!pairWords.TryGetValue(pair, out var holders))
                    {
                        pairWords[pair] = holders = [];
                    }

                    holders.Add(word);
                }

                changed.Add(pair);
            }
        }

        for (var word = 0; word < wordSymbols.Length; word++)
        {
            Count(word, wordSymbols[word], +1);
        }

        // Most frequent first; ties by the symbols' text, so the order of learning never depends on ids or on input order.
        var ordered = new PriorityQueue<(int Left, int Right), (long Count, string Left, string Right)>(Comparer<(long Count, string Left, string Right)>.Create((a, b) =>
        {
            var byCount = b.Count.CompareTo(a.Count);
            if (byCount != 0)
            {
                return byCount;
            }

            var byLeft = string.CompareOrdinal(a.Left, b.Left);
            return byLeft != 0 ? byLeft : string.CompareOrdinal(a.Right, b.Right);
        }));

        void EnqueueChanged()
        {
            foreach (var pair in changed)
            {
                if (pairCounts.TryGetValue(pair, out var count))
                {
                    ordered.Enqueue(pair, (count, symbols[pair.Left], symbols[pair.Right]));
                }
            }

            changed.Clear();
        }

        EnqueueChanged();
        var known = new HashSet<string>(vocabulary, StringComparer.Ordinal);
        var merges = new List<(string Left, string Right)>();
        var made = new List<string>();
        var mergedPairs = new HashSet<(int Left, int Right)>();
        while (made.Count < newSymbolBudget && ordered.TryDequeue(out var pair, out var priority))
        {
            if (pairCounts.GetValueOrDefault(pair) != priority.Count)
            {
                continue; // a stale entry: the pair's count has changed since, and its current count is queued too
            }

            if (priority.Count < minPairCount)
            {
                break;
            }

            var merged = Intern(symbols[pair.Left] + symbols[pair.Right]);
            if (mergedPairs.Add(pair))
            {
                // Once only: a pair can come back when a later merge remakes one of its symbols (ab·c and a·bc are both abc).
                merges.Add((symbols[pair.Left], symbols[pair.Right]));
            }

            if (known.Add(symbols[merged]))
            {
                made.Add(symbols[merged]);
            }

            foreach (var word in pairWords[pair].ToArray())
            {
                var sequence = wordSymbols[word];
                var rewritten = Merge(sequence, pair, merged);
                if (rewritten is null)
                {
                    continue; // the word lost the pair to an earlier merge
                }

                Count(word, sequence, -1);
                Count(word, rewritten, +1);
                wordSymbols[word] = rewritten;
            }

            pairWords.Remove(pair);
            EnqueueChanged();
        }

        var segmentations = wordSymbols.Select(sequence => sequence.Select(id => symbols[id]).ToArray()).ToList();
        return new Result(merges, made, segmentations);
    }

    /// <summary><paramref name="sequence"/> with every occurrence of <paramref name="pair"/>, left to right, made <paramref name="merged"/>; null when it has none.</summary>
    private static List<int>? Merge(List<int> sequence, (int Left, int Right) pair, int merged)
    {
        List<int>? rewritten = null;
        for (var i = 0; i < sequence.Count; i++)
        {
            if (i + 1 < sequence.Count && sequence[i] == pair.Left && sequence[i + 1] == pair.Right)
            {
                rewritten ??= sequence.GetRange(0, i);
                rewritten.Add(merged);
                i++;
            }
            else
            {
                rewritten?.Add(sequence[i]);
            }
        }

        return rewritten;
    }
}
