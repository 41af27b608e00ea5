using System.Text;

namespace VisionLanguage.Data;

/// <summary>
/// Builds a WordPiece vocabulary from a dataset's captions: BLIP's special tokens first, then every whole word
/// (as <see cref="BlipTokenizer"/> splits and lower-cases it) and every character, then every character as a
/// continuation piece (<c>##c</c>), so any word made of known characters can be spelled. Sorted, so the same
/// captions in any order give the same file.
/// </summary>
public static class BlipVocabulary
{
    /// <summary>The vocabulary's file name inside a dataset artifact.</summary>
    public const string FileName = "vocab.txt";

    private const string ContinuationPrefix = "##";

    /// <summary>
    /// The default prompts of the caption stages: BLIP's <c>"a picture of "</c> and BLIP-2's <c>"a photo of"</c>. A
    /// caption stage refuses a prompt whose words its vocabulary can only spell, so a vocabulary built for imported data
    /// (<see cref="ForCaptions"/>) knows these words whatever the captions say.
    /// </summary>
    public static IReadOnlyList<string> DefaultPrompts { get; } = ["a picture of", "a photo of"];

    /// <summary>The vocabulary of a dataset with <paramref name="captions"/>: theirs and the default prompts' words.</summary>
    public static IReadOnlyList<string> ForCaptions(IEnumerable<string> captions) => Build(captions.Concat(DefaultPrompts));

    /// <summary>The tokens (id = position) for <paramref name="captions"/>; words seen fewer than <paramref name="minWordCount"/> times are spelled.</summary>
    public static IReadOnlyList<string> Build(IEnumerable<string> captions, int minWordCount = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minWordCount, 1);
        var splitter = BlipTokenizer.FromTokens(BlipTokenizer.SpecialTokens);
        var special = new HashSet<string>(BlipTokenizer.SpecialTokens.Select(token => token.ToLowerInvariant()), StringComparer.Ordinal);
        var wordCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        var characters = new HashSet<string>(StringComparer.Ordinal);
        foreach (var caption in captions)
        {
            foreach (var word in splitter.Words(caption))
            {
                if (special.Contains(word))
                {
                    continue;
                }

                wordCounts[word] = wordCounts.GetValueOrDefault(word) + 1;
                foreach (var rune in word.EnumerateRunes())
                {
                    characters.Add(rune.ToString());
                }
            }
        }

        var whole = new SortedSet<string>(characters, StringComparer.Ordinal);
        whole.UnionWith(wordCounts.Where(pair => pair.Value >= minWordCount).Select(pair => pair.Key));
        var pieces = characters.Select(character => ContinuationPrefix + character).Order(StringComparer.Ordinal);
        return [.. BlipTokenizer.SpecialTokens, .. whole, .. pieces];
    }

    /// <summary>
    /// The vocabulary for training on the dataset folders <paramref name="datasetFolders"/>: their <c>vocab.txt</c>
    /// when they all carry the same one (the splits of one synthetic dataset do), else one built from
    /// <paramref name="captions"/> (all of theirs) and the default prompts, so concatenated datasets get one vocabulary
    /// covering every caption.
    /// A model resumed or finetuned from a checkpoint keeps the checkpoint's vocabulary instead.
    /// </summary>
    public static IReadOnlyList<string> ForDatasets(IReadOnlyList<string> datasetFolders, IEnumerable<string> captions)
    {
        var files = datasetFolders.Select(folder => Path.Combine(folder, FileName)).ToList();
        if (files.Count > 0 && files.All(File.Exists))
        {
            var first = File.ReadAllLines(files[0], Encoding.UTF8);
            if (files.Skip(1).All(file => File.ReadAllLines(file, Encoding.UTF8).SequenceEqual(first, StringComparer.Ordinal)))
            {
                return first;
            }
        }

        return ForCaptions(captions);
    }

    /// <summary>
    /// A finetune's vocabulary: <paramref name="tokens"/> (its init checkpoint's, every id kept), then the tokens a
    /// vocabulary of <paramref name="texts"/> (<see cref="Build"/>) has and they lack, in its order: the words and
    /// characters of the finetune's data that the pretraining data never had (a VQA answer "2" after pretraining on
    /// captions that spell numbers). The model grows its word embeddings by as many rows, which start fresh.
    /// </summary>
    public static IReadOnlyList<string> Extend(IReadOnlyList<string> tokens, IEnumerable<string> texts)
    {
        var known = new HashSet<string>(tokens, StringComparer.Ordinal);
        return [.. tokens, .. Build(texts).Where(token => !known.Contains(token))];
    }

    /// <summary>Writes <paramref name="tokens"/> one per line (UTF-8, no BOM, <c>\n</c> line ends).</summary>
    public static void Write(string path, IReadOnlyList<string> tokens) =>
        File.WriteAllText(path, string.Join('\n', tokens) + "\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
}
