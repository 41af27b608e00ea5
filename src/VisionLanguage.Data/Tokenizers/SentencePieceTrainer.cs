using Microsoft.ML.Tokenizers;

namespace VisionLanguage.Data.Tokenizers;

/// <summary>
/// Learns a SentencePiece Unigram model with T5's conventions (Microsoft.ML.Tokenizers loads but does not train), in
/// two steps simpler than sentencepiece's own trainer:
/// <list type="number">
/// <item>the pieces: each text is normalized as the model will normalize it (extra whitespace removed, a dummy
/// <c>▁</c> prefix, spaces as <c>▁</c>) and cut into <c>▁</c>-led words; the vocabulary is every character of the corpus
/// plus the pieces that BPE merges make (<see cref="PairMerges"/>: most frequent pair first, ties to the ordinally
/// smallest), until it has the size asked for;</item>
/// <item>the scores: each piece's log probability, estimated by Viterbi (hard) EM: the words are segmented into their
/// most probable pieces, the pieces counted, the scores re-estimated, <see cref="EmIterations"/> times, starting from
/// the BPE segmentation's counts. A piece no word uses any more keeps a score below every used piece's.</item>
/// </list>
/// The model lists T5's special pieces first (<c>&lt;pad&gt;</c> 0, <c>&lt;/s&gt;</c> 1, <c>&lt;unk&gt;</c> 2), then a
/// <c>&lt;s&gt;</c> control piece at 3 that T5 lacks (its <c>bos_id</c> is −1): Microsoft.ML.Tokenizers 2.0.1 cannot
/// load a Unigram model without a BOS piece, and <see cref="T5Tokenizer"/> never emits it. Then the pieces by score,
/// highest first (ties ordinal), as sentencepiece writes a Unigram model. Deterministic: the same texts, in any order,
/// give the same bytes.
/// </summary>
public static class SentencePieceTrainer
{
    /// <summary>The re-estimations of the scores after the BPE step.</summary>
    public const int EmIterations = 2;

    /// <summary>The special pieces at ids 0–3: T5's padding, EOS and unknown, and a BOS piece T5 never uses.</summary>
    public static IReadOnlyList<string> SpecialPieces { get; } = ["<pad>", "</s>", "<unk>", "<s>"];

    private const char WordBoundary = '▁';

    /// <summary>
    /// The model for <paramref name="corpus"/> with <paramref name="vocabularySize"/> pieces (the four special pieces
    /// included; the sentinels of <see cref="T5Tokenizer"/> come on top), or fewer when no pair occurs
    /// <paramref name="minPairCount"/> times any more.
    /// </summary>
    /// <exception cref="ArgumentException">The size leaves no room for the corpus's characters.</exception>
    public static SentencePieceModel Learn(IEnumerable<string> corpus, int vocabularySize, int minPairCount = 2)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentOutOfRangeException.ThrowIfLessThan(minPairCount, 1);
        var normalizer = new SentencePieceNormalizer(removeExtraWhiteSpaces: true, addDummyPrefix: true, escapeWhiteSpaces: true, treatWhitespaceAsSuffix: false, specialTokens: null);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var text in corpus)
        {
            foreach (var word in Words(normalizer.Normalize(text)))
            {
                counts[word] = counts.GetValueOrDefault(word) + 1;
            }
        }

        var words = counts.OrderBy(pair => pair.Key, StringComparer.Ordinal)
            .Select(pair => (Symbols: pair.Key.EnumerateRunes().Select(rune => rune.ToString()).ToArray(), Count: pair.Value))
            .ToList();
        var alphabet = words.SelectMany(word => word.Symbols).Distinct().Order(StringComparer.Ordinal).ToList();
        var budget = vocabularySize - SpecialPieces.Count - alphabet.Count;
        if (budget < 0)
        {
            throw new ArgumentException(
                $"vocabulary size {vocabularySize} leaves no room for the corpus's {alphabet.Count} characters and the {SpecialPieces.Count} special pieces; ask for at least {alphabet.Count + SpecialPieces.Count}",
                nameof(vocabularySize));
        }

        var learned = PairMerges.Learn(words, SpecialPieces.Concat(alphabet), budget, minPairCount);
        var scores = Estimate(words.Select(word => word.Count).ToList(), learned.Segmentations, alphabet.Concat(learned.NewSymbols));
        var maxLength = scores.Keys.Max(piece => piece.Length);
        for (var iteration = 0; iteration < EmIterations; iteration++)
        {
            var segmentations = words.Select(word => Viterbi(string.Concat(word.Symbols), scores, maxLength)).ToList();
            scores = Estimate(words.Select(word => word.Count).ToList(), segmentations, scores.Keys);
        }

        var pieces = scores.OrderByDescending(pair => pair.Value).ThenBy(pair => pair.Key, StringComparer.Ordinal)
            .Select(pair => new SentencePieceEntry(pair.Key, pair.Value, SentencePieceKind.Normal));
        return new SentencePieceModel(
            [
                new(SpecialPieces[0], 0, SentencePieceKind.Control),
                new(SpecialPieces[1], 0, SentencePieceKind.Control),
                new(SpecialPieces[2], 0, SentencePieceKind.Unknown),
                new(SpecialPieces[3], 0, SentencePieceKind.Control),
                .. pieces,
            ],
            SentencePieceAlgorithm.Unigram,
            UnkId: 2,
            BosId: 3,
            EosId: 1,
            PadId: 0);
    }

    /// <summary>
    /// <see cref="Learn"/>, then writes <c>spiece.model</c> and a <c>tokenizer_config.json</c> (T5's special tokens,
    /// <paramref name="extraIds"/> sentinels) and <c>special_tokens_map.json</c> into <paramref name="folder"/> (made if
    /// missing). Loads with <see cref="T5Tokenizer.Load"/>.
    /// </summary>
    public static SentencePieceModel Train(IEnumerable<string> corpus, int vocabularySize, string folder, int extraIds = T5Tokenizer.DefaultExtraIds, int minPairCount = 2)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(extraIds);
        var model = Learn(corpus, vocabularySize, minPairCount);
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, T5Tokenizer.ModelFile), SentencePieceModelFile.Serialize(model));
        var special = new Dictionary<string, object>
        {
            ["eos_token"] = SpecialPieces[1],
            ["pad_token"] = SpecialPieces[0],
            ["unk_token"] = SpecialPieces[2],
        };
        TokenizerFolder.WriteSettings(Path.Combine(folder, TokenizerFolder.SpecialTokensMap), special);
        TokenizerFolder.WriteSettings(Path.Combine(folder, TokenizerFolder.TokenizerConfig), new Dictionary<string, object>(special)
        {
            ["extra_ids"] = extraIds,
            ["tokenizer_class"] = "T5Tokenizer",
        });
        return model;
    }

    /// <summary>The <c>▁</c>-led words of a normalized text.</summary>
    private static IEnumerable<string> Words(string normalized)
    {
        var start = 0;
        for (var i = 1; i <= normalized.Length; i++)
        {
            if (i == normalized.Length || normalized[i] == WordBoundary)
            {
                if (i > start)
                {
                    yield return normalized[start..i];
                }

                start = i;
            }
        }
    }

    /// <summary>
    /// Each of <paramref name="pieces"/>' log probability from how often the segmentations use it (a word's count per
    /// use); an unused piece gets half a use's probability, below every used piece.
    /// </summary>
    private static Dictionary<string, float> Estimate(IReadOnlyList<long> wordCounts, IReadOnlyList<string[]> segmentations, IEnumerable<string> pieces)
    {
        var uses = pieces.ToDictionary(piece => piece, _ => 0L, StringComparer.Ordinal);
        for (var word = 0; word < segmentations.Count; word++)
        {
            foreach (var piece in segmentations[word])
            {
                uses[piece] += wordCounts[word];
            }
        }

        var total = (double)uses.Values.Sum();
        return uses.ToDictionary(pair => pair.Key, pair => (float)Math.Log(Math.Max(pair.Value, 0.5) / total), StringComparer.Ordinal);
    }

    /// <summary>The pieces of <paramref name="word"/> whose scores sum highest; of equal sums, the one whose last piece is longer.</summary>
    private static string[] Viterbi(string word, IReadOnlyDictionary<string, float> scores, int maxLength)
    {
        var best = new double[word.Length + 1];
        var from = new int[word.Length + 1];
        Array.Fill(best, double.NegativeInfinity);
        best[0] = 0;
        for (var end = 1; end <= word.Length; end++)
        {
            for (var start = Math.Max(0, end - maxLength); start < end; start++)
            {
                if (!double.IsNegativeInfinity(best[start]) && scores.TryGetValue(word[start..end], out var score) && best[start] + score > best[end])
                {
                    best[end] = best[start] + score;
                    from[end] = start;
                }
            }
        }

        var pieces = new List<string>();
        for (var end = word.Length; end > 0; end = from[end])
        {
            pieces.Add(word[from[end]..end]);
        }

        pieces.Reverse();
        return [.. pieces];
    }
}
