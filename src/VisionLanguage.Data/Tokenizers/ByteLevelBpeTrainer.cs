using System.Text;

namespace VisionLanguage.Data.Tokenizers;

/// <summary>
/// A byte-level BPE vocabulary in OPT's layout: <see cref="Vocabulary"/> (id = position) starts with OPT's special tokens
/// <c>&lt;s&gt;</c>, <c>&lt;pad&gt;</c>, <c>&lt;/s&gt;</c>, <c>&lt;unk&gt;</c>, then the 256 byte symbols in GPT-2's
/// order, then the symbols the merges made; <see cref="Merges"/> in rank order.
/// </summary>
public sealed record ByteLevelBpeModel(IReadOnlyList<string> Vocabulary, IReadOnlyList<(string Left, string Right)> Merges)
{
    /// <summary>
    /// Writes <c>vocab.json</c> (one JSON object, tokens in id order, UTF-8 unescaped), <c>merges.txt</c>
    /// (<c>#version: 0.2</c>, then one <c>left right</c> per line) as HF's tokenizers save them, and
    /// <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c> naming OPT's special tokens, into
    /// <paramref name="folder"/> (made if missing). Loads with <see cref="OptTokenizer.Load"/>.
    /// </summary>
    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        var vocabulary = new StringBuilder("{");
        for (var id = 0; id < Vocabulary.Count; id++)
        {
            vocabulary.Append(id == 0 ? "" : ",");
            AppendJsonString(vocabulary, Vocabulary[id]);
            vocabulary.Append(':').Append(id);
        }

        File.WriteAllText(Path.Combine(folder, OptTokenizer.VocabularyFile), vocabulary.Append("}\n").ToString(), utf8);
        var merges = new StringBuilder(OptTokenizer.MergesHeader).Append('\n');
        foreach (var (left, right) in Merges)
        {
            merges.Append(left).Append(' ').Append(right).Append('\n');
        }

        File.WriteAllText(Path.Combine(folder, OptTokenizer.MergesFile), merges.ToString(), utf8);
        var special = new Dictionary<string, object>
        {
            ["bos_token"] = "</s>",
            ["eos_token"] = "</s>",
            ["pad_token"] = "<pad>",
            ["unk_token"] = "<unk>",
        };
        TokenizerFolder.WriteSettings(Path.Combine(folder, TokenizerFolder.SpecialTokensMap), special);
        TokenizerFolder.WriteSettings(Path.Combine(folder, TokenizerFolder.TokenizerConfig), new Dictionary<string, object>(special)
        {
            ["add_bos_token"] = true,
            ["add_prefix_space"] = false,
            ["errors"] = "replace",
            ["tokenizer_class"] = "GPT2Tokenizer",
        });
    }

    /// <summary>JSON's escapes for quote, backslash and control characters; every other character as itself.</summary>
    private static void AppendJsonString(StringBuilder json, string text)
    {
        json.Append('"');
        foreach (var character in text)
        {
            _ = character switch
            {
                '"' => json.Append("\\\""),
                '\\' => json.Append("\\\\"),
                < ' ' => json.Append($"\\u{(int)character:x4}"),
                _ => json.Append(character),
            };
        }

        json.Append('"');
    }
}

/// <summary>
/// Learns a byte-level BPE vocabulary as GPT-2's and OPT's are made (Microsoft.ML.Tokenizers loads but does not train):
/// each text is split by GPT-2's pre-tokenizer (<see cref="GptByteLevel.Pattern"/>), each piece's UTF-8 bytes become
/// GPT-2's byte symbols, and merges are learned over the distinct pieces weighted by their counts: the most frequent
/// adjacent pair first, ties to the ordinally smallest (left, right). Deterministic: the same texts, in any order, give
/// the same vocabulary and the same bytes on disk.
/// </summary>
public static class ByteLevelBpeTrainer
{
    /// <summary>OPT's four special tokens and the 256 byte symbols: the smallest vocabulary there is.</summary>
    public static int MinimumVocabularySize => OptTokenizer.OptSpecialTokens.Count + GptByteLevel.ByteSymbols.Count;

    /// <summary>
    /// Learns merges from <paramref name="corpus"/> until the vocabulary has <paramref name="vocabularySize"/> tokens, or
    /// until the most frequent pair occurs fewer than <paramref name="minPairCount"/> times (a merge seen once only
    /// memorises its text), whichever comes first.
    /// </summary>
    public static ByteLevelBpeModel Learn(IEnumerable<string> corpus, int vocabularySize, int minPairCount = 2)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, MinimumVocabularySize);
        ArgumentOutOfRangeException.ThrowIfLessThan(minPairCount, 1);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var text in corpus)
        {
            foreach (var piece in GptByteLevel.PreTokenizer().EnumerateMatches(text))
            {
                var word = GptByteLevel.Encode(text.Substring(piece.Index, piece.Length));
                counts[word] = counts.GetValueOrDefault(word) + 1;
            }
        }

        var words = counts.OrderBy(pair => pair.Key, StringComparer.Ordinal)
            .Select(pair => (pair.Key.Select(symbol => symbol.ToString()).ToArray(), pair.Value))
            .ToList();
        string[] alphabet = [.. OptTokenizer.OptSpecialTokens, .. GptByteLevel.ByteSymbols];
        var learned = PairMerges.Learn(words, alphabet, vocabularySize - alphabet.Length, minPairCount);
        return new ByteLevelBpeModel([.. alphabet, .. learned.NewSymbols], learned.Merges);
    }

    /// <summary><see cref="Learn"/>, then <see cref="ByteLevelBpeModel.Save"/> into <paramref name="folder"/>.</summary>
    public static ByteLevelBpeModel Train(IEnumerable<string> corpus, int vocabularySize, string folder, int minPairCount = 2)
    {
        var model = Learn(corpus, vocabularySize, minPairCount);
        model.Save(folder);
        return model;
    }
}
