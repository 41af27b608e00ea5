using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace VisionLanguage.Data.Tokenizers;

/// <summary>
/// OPT's tokenizer, as HF's <c>GPT2Tokenizer</c> runs it for OPT: GPT-2's byte-level BPE over <c>vocab.json</c> and
/// <c>merges.txt</c> (Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> in byte-level mode, GPT-2's pre-tokenizer),
/// <c>&lt;/s&gt;</c> put in front of every encoding as its BOS, no EOS appended. The special tokens come from
/// <c>special_tokens_map.json</c> / <c>tokenizer_config.json</c> when the folder has them, else OPT's: BOS and EOS
/// <c>&lt;/s&gt;</c>, padding <c>&lt;pad&gt;</c>, unknown <c>&lt;unk&gt;</c>; their ids are their ids in
/// <c>vocab.json</c>. Special tokens written in a text are recognised as such. Thread-safe.
/// </summary>
public sealed class OptTokenizer : LlmTokenizer
{
    public const string VocabularyFile = "vocab.json";
    public const string MergesFile = "merges.txt";

    /// <summary>The first line of HF's <c>merges.txt</c>.</summary>
    public const string MergesHeader = "#version: 0.2";

    /// <summary>OPT's own special tokens, in their vocabulary order (ids 0–3 in OPT's <c>vocab.json</c>).</summary>
    public static IReadOnlyList<string> OptSpecialTokens { get; } = ["<s>", "<pad>", "</s>", "<unk>"];

    private const string Fix = "An OPT tokenizer folder holds vocab.json and merges.txt as HF's GPT2Tokenizer saves them; copy them from the model's folder, or train them with ByteLevelBpeTrainer.";

    private readonly BpeTokenizer _bpe;
    private readonly bool _addBos;
    private readonly bool _addPrefixSpace;

    private OptTokenizer(
        BpeTokenizer bpe, int vocabularySize, IReadOnlyDictionary<string, int> special, (int Bos, int Eos, int Pad, int Unk) ids, bool addBos, bool addPrefixSpace)
    {
        _bpe = bpe;
        _addBos = addBos;
        _addPrefixSpace = addPrefixSpace;
        VocabularySize = vocabularySize;
        (BosId, EosId, PadId, UnkId) = (ids.Bos, ids.Eos, ids.Pad, ids.Unk);
        SpecialIds = special.Values.Select(id => (long)id).ToHashSet();
    }

    public override string Architecture => Opt;

    public override long? BosId { get; }

    public override long EosId { get; }

    public override long PadId { get; }

    public override long UnkId { get; }

    public override int VocabularySize { get; }

    public override IReadOnlySet<long> SpecialIds { get; }

    /// <summary>
    /// Loads <c>vocab.json</c> and <c>merges.txt</c> from <paramref name="folder"/>, with the special tokens and the
    /// <c>add_bos_token</c> (default true) and <c>add_prefix_space</c> (default false) switches of its
    /// <c>tokenizer_config.json</c> / <c>special_tokens_map.json</c> when present.
    /// </summary>
    /// <exception cref="TokenizerFileException">A file is missing, unreadable or malformed, or lacks a special token.</exception>
    public static OptTokenizer Load(string folder)
    {
        var vocabularyPath = Path.Combine(folder, VocabularyFile);
        var mergesPath = Path.Combine(folder, MergesFile);
        var vocabulary = ReadVocabulary(vocabularyPath, TokenizerFolder.ReadRequired(folder, VocabularyFile, Fix));
        var merges = ReadMerges(mergesPath, TokenizerFolder.ReadRequired(folder, MergesFile, Fix));
        var settings = TokenizerFolder.ReadSettings(folder);

        string Named(string key, string fallback)
        {
            var token = settings.Token(key, fallback);
            return vocabulary.ContainsKey(token)
                ? token
                : throw new TokenizerFileException(vocabularyPath, $"the {key} '{token}' is not in the vocabulary", $"{Fix} Or name a {key} the vocabulary has in {TokenizerFolder.SpecialTokensMap}.");
        }

        var (bos, eos, pad, unk) = (Named("bos_token", "</s>"), Named("eos_token", "</s>"), Named("pad_token", "<pad>"), Named("unk_token", "<unk>"));

        // Recognised as units in a text, and left out by Decode: OPT's four (those the vocabulary has) and the named ones.
        var special = OptSpecialTokens.Concat([bos, eos, pad, unk]).Where(vocabulary.ContainsKey).Distinct()
            .ToDictionary(token => token, token => vocabulary[token], StringComparer.Ordinal);

        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(vocabulary)
            {
                Merges = merges,
                ByteLevel = true,
                PreTokenizer = new RegexPreTokenizer(GptByteLevel.PreTokenizer(), special),
                SpecialTokens = special,
                UnknownToken = unk,
            });
        }
        catch (InvalidOperationException error)
        {
            // A merge of tokens the vocabulary lacks, say: the two files do not belong together.
            throw new TokenizerFileException(mergesPath, $"the merges do not fit {VocabularyFile} ({error.Message})", Fix, error);
        }

        var addBos = settings.Flag("add_bos_token", fallback: true);
        var addPrefixSpace = settings.Flag("add_prefix_space", fallback: false);
        return new OptTokenizer(bpe, vocabulary.Values.Max() + 1, special, (vocabulary[bos], vocabulary[eos], vocabulary[pad], vocabulary[unk]), addBos, addPrefixSpace);
    }

    /// <summary>BOS (<c>&lt;/s&gt;</c>, unless <c>add_bos_token</c> is false), then the byte-level BPE ids of <paramref name="text"/>; no EOS.</summary>
    public override long[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = _bpe.EncodeToIds(_addPrefixSpace ? " " + text : text);
        var offset = _addBos ? 1 : 0;
        var result = new long[ids.Count + offset];
        if (_addBos)
        {
            result[0] = BosId!.Value;
        }

        for (var i = 0; i < ids.Count; i++)
        {
            result[i + offset] = ids[i];
        }

        return result;
    }

    /// <summary>The text of <paramref name="ids"/>: special tokens and ids the vocabulary lacks left out, bytes that are not valid UTF-8 as U+FFFD.</summary>
    public override string Decode(IEnumerable<long> ids)
    {
        var kept = ids.Where(IsText).Select(id => (int)id);
        return _bpe.Decode(kept, considerSpecialTokens: false);
    }

    private static Dictionary<string, int> ReadVocabulary(string path, byte[] bytes)
    {
        Dictionary<string, int>? vocabulary;
        try
        {
            vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(bytes);
        }
        catch (JsonException error)
        {
            throw new TokenizerFileException(path, $"the file is not a JSON object of token to id ({error.Message})", Fix, error);
        }

        if (vocabulary is null || vocabulary.Count == 0)
        {
            throw new TokenizerFileException(path, "the vocabulary is empty", Fix);
        }

        var negative = vocabulary.FirstOrDefault(pair => pair.Value < 0);
        if (negative.Key is not null)
        {
            throw new TokenizerFileException(path, $"token '{negative.Key}' has the negative id {negative.Value}", Fix);
        }

        return vocabulary;
    }

    private static List<string> ReadMerges(string path, byte[] bytes)
    {
        var lines = Encoding.UTF8.GetString(bytes).Split('\n');
        var merges = new List<string>(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Length == 0 || (i == 0 && line.StartsWith("#version", StringComparison.Ordinal)))
            {
                continue;
            }

            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
            {
                throw new TokenizerFileException(path, $"line {i + 1} is '{line}', not two tokens separated by one space", Fix);
            }

            merges.Add(line);
        }

        return merges;
    }
}
