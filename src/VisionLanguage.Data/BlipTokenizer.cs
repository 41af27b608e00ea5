using System.Text;
using Microsoft.ML.Tokenizers;
using TorchSharp;

namespace VisionLanguage.Data;

/// <summary>
/// BLIP's text tokenizer: BERT's lower-casing WordPiece over a <c>vocab.txt</c>, with BLIP's extra special tokens
/// <c>[ENC]</c> (replaces <c>[CLS]</c> for the image-grounded encoder) and <c>[DEC]</c> (begins a caption for the
/// decoder) beside BERT's <c>[PAD]</c>, <c>[UNK]</c>, <c>[CLS]</c>, <c>[SEP]</c> and <c>[MASK]</c>. Special tokens
/// written in a text are recognised as such. Thread-safe.
/// </summary>
public sealed class BlipTokenizer
{
    public const string PadToken = "[PAD]";
    public const string UnkToken = "[UNK]";
    public const string ClsToken = "[CLS]";
    public const string SepToken = "[SEP]";
    public const string MaskToken = "[MASK]";
    public const string EncToken = "[ENC]";
    public const string DecToken = "[DEC]";

    private readonly BertTokenizer _tokenizer;

    private BlipTokenizer(BertTokenizer tokenizer, int vocabSize, IReadOnlyDictionary<string, int> ids)
    {
        _tokenizer = tokenizer;
        VocabSize = vocabSize;
        PadId = tokenizer.PaddingTokenId;
        UnkId = tokenizer.UnknownTokenId;
        ClsId = tokenizer.ClassificationTokenId;
        SepId = tokenizer.SeparatorTokenId;
        MaskId = tokenizer.MaskingTokenId;
        EncId = ids[EncToken];
        DecId = ids[DecToken];
    }

    /// <summary>The special tokens, in the order <see cref="BlipVocabulary"/> writes them first in a vocabulary.</summary>
    public static IReadOnlyList<string> SpecialTokens { get; } = [PadToken, UnkToken, ClsToken, SepToken, MaskToken, EncToken, DecToken];

    public long PadId { get; }
    public long UnkId { get; }
    public long ClsId { get; }
    public long SepId { get; }
    public long MaskId { get; }
    public long EncId { get; }
    public long DecId { get; }

    /// <summary>Tokens in the vocabulary: the text embedding's row count.</summary>
    public int VocabSize { get; }

    /// <summary>Loads <c>vocab.txt</c> (one token per line; a token's id is its line number, from 0).</summary>
    /// <exception cref="InvalidDataException">The file does not exist or lacks a special token.</exception>
    public static BlipTokenizer FromVocabFile(string path)
    {
        if (!File.Exists(path))
        {
            // Not a FileNotFoundException: that is an IOException, which the worker retries, and a missing vocabulary stays missing.
            throw new InvalidDataException(
                $"vocabulary file '{path}' does not exist; a dataset artifact carries one as {BlipVocabulary.FileName}, or build one with BlipVocabulary.Build");
        }

        return FromTokens(File.ReadAllLines(path, Encoding.UTF8), path);
    }

    /// <summary>A tokenizer over <paramref name="tokens"/> (id = position), e.g. from <see cref="BlipVocabulary.Build"/>.</summary>
    public static BlipTokenizer FromTokens(IReadOnlyList<string> tokens, string source = "the vocabulary")
    {
        var missing = SpecialTokens.Where(special => !tokens.Contains(special, StringComparer.Ordinal)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidDataException(
                $"{source} lacks the special token(s) {string.Join(", ", missing)}; BLIP needs {string.Join(", ", SpecialTokens)}. " +
                "Rebuild it with BlipVocabulary.Build, which writes them first.");
        }

        var duplicate = tokens.GroupBy(token => token, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidDataException($"{source} lists token '{duplicate.Key}' more than once; every token must have one id");
        }

        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var special in SpecialTokens)
        {
            ids[special] = IndexOf(tokens, special);
        }

        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', tokens) + "\n"));
        var tokenizer = BertTokenizer.Create(stream, new BertOptions
        {
            LowerCaseBeforeTokenization = true,
            ApplyBasicTokenization = true,
            SplitOnSpecialTokens = true,
            SpecialTokens = ids,
            UnknownToken = UnkToken,
            PaddingToken = PadToken,
            ClassificationToken = ClsToken,
            SeparatorToken = SepToken,
            MaskingToken = MaskToken,
        });
        return new BlipTokenizer(tokenizer, tokens.Count, ids);
    }

    /// <summary>
    /// The ids of <paramref name="text"/>: <c>[CLS]</c>, its word pieces, <c>[SEP]</c>; at most
    /// <paramref name="maxLength"/> ids (longer texts are cut before <c>[SEP]</c>), not padded.
    /// </summary>
    public long[] Encode(string text, int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        var ids = _tokenizer.EncodeToIds(text, maxLength, addSpecialTokens: true, out _, out _);
        var result = new long[ids.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = ids[i];
        }

        return result;
    }

    /// <summary>
    /// Writes <paramref name="text"/>'s ids into <paramref name="ids"/>, padded with <see cref="PadId"/> to its
    /// length, and 1 (real token) or 0 (padding) into <paramref name="mask"/>; returns the real token count.
    /// </summary>
    public int EncodePadded(string text, Span<long> ids, Span<long> mask)
    {
        if (mask.Length != ids.Length)
        {
            throw new ArgumentException($"mask has length {mask.Length}, ids {ids.Length}; they must match", nameof(mask));
        }

        var encoded = Encode(text, ids.Length);
        encoded.CopyTo(ids);
        ids[encoded.Length..].Fill(PadId);
        mask[..encoded.Length].Fill(1);
        mask[encoded.Length..].Clear();
        return encoded.Length;
    }

    /// <summary>
    /// <paramref name="texts"/> as int64 ids and mask, both [texts, <paramref name="maxLength"/>], padded with
    /// <see cref="PadId"/>; the caller owns (disposes) both tensors.
    /// </summary>
    public (torch.Tensor Ids, torch.Tensor Mask) EncodeBatch(IReadOnlyList<string> texts, int maxLength)
    {
        var ids = new long[texts.Count * maxLength];
        var mask = new long[texts.Count * maxLength];
        for (var i = 0; i < texts.Count; i++)
        {
            EncodePadded(texts[i], ids.AsSpan(i * maxLength, maxLength), mask.AsSpan(i * maxLength, maxLength));
        }

        long[] shape = [texts.Count, maxLength];
        return (torch.tensor(ids, shape, torch.int64, device: torch.CPU), torch.tensor(mask, shape, torch.int64, device: torch.CPU));
    }

    /// <summary>The text of <paramref name="ids"/>, word pieces joined; special tokens (and so padding) left out unless asked for.</summary>
    public string Decode(IEnumerable<long> ids, bool skipSpecialTokens = true) =>
        _tokenizer.Decode(ids.Select(id => checked((int)id)), skipSpecialTokens);

    /// <summary>The words of <paramref name="text"/> as this tokenizer sees them before WordPiece: lower-cased, split at spaces and punctuation.</summary>
    public IEnumerable<string> Words(string text)
    {
        var normalized = _tokenizer.Normalizer?.Normalize(text) ?? text;
        foreach (var (offset, length) in _tokenizer.PreTokenizer!.PreTokenize(normalized))
        {
            yield return normalized.Substring(offset, length);
        }
    }

    private static int IndexOf(IReadOnlyList<string> tokens, string token)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            if (string.Equals(tokens[i], token, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
