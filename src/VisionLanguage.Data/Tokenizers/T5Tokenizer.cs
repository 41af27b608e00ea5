using Google.Protobuf;
using Microsoft.ML.Tokenizers;

namespace VisionLanguage.Data.Tokenizers;

/// <summary>
/// T5's tokenizer, as HF's <c>T5Tokenizer</c> runs it: SentencePiece over <c>spiece.model</c> (Microsoft.ML.Tokenizers'
/// <see cref="SentencePieceTokenizer"/>, which reads Unigram models such as T5's and BPE models), EOS <c>&lt;/s&gt;</c>
/// appended to every encoding, no BOS. Padding <c>&lt;pad&gt;</c>, EOS and unknown <c>&lt;unk&gt;</c> are named by
/// <c>special_tokens_map.json</c> / <c>tokenizer_config.json</c> when present, else by the model's own
/// <c>TrainerSpec</c>; their ids are their positions among the pieces (T5: 0, 1, 2). After the pieces come
/// <c>extra_ids</c> sentinels (<c>tokenizer_config.json</c>, HF's default 100), numbered down from the last id as HF
/// numbers them: <c>&lt;extra_id_0&gt;</c> is the largest id. Special tokens written in a text are recognised as such.
/// Thread-safe.
/// </summary>
public sealed class T5Tokenizer : LlmTokenizer
{
    public const string ModelFile = "spiece.model";

    /// <summary>HF <c>T5Tokenizer</c>'s sentinel count when <c>tokenizer_config.json</c> does not say.</summary>
    public const int DefaultExtraIds = 100;

    private const string Fix = "A T5 tokenizer folder holds spiece.model as HF's T5Tokenizer saves it; copy it from the model's folder, or train one with SentencePieceTrainer.";

    private readonly SentencePieceTokenizer _sentencePiece;

    private T5Tokenizer(SentencePieceTokenizer sentencePiece, int vocabularySize, (int Eos, int Pad, int Unk) ids, IEnumerable<int> specialIds)
    {
        _sentencePiece = sentencePiece;
        VocabularySize = vocabularySize;
        (EosId, PadId, UnkId) = (ids.Eos, ids.Pad, ids.Unk);
        SpecialIds = specialIds.Select(id => (long)id).ToHashSet();
    }

    public override string Architecture => T5;

    /// <summary>Always null: T5 puts nothing in front of an encoding (its decoder starts from <see cref="LlmTokenizer.PadId"/>).</summary>
    public override long? BosId => null;

    public override long EosId { get; }

    public override long PadId { get; }

    public override long UnkId { get; }

    public override int VocabularySize { get; }

    public override IReadOnlySet<long> SpecialIds { get; }

    /// <summary>
    /// Loads <c>spiece.model</c> from <paramref name="folder"/>, with the special tokens and <c>extra_ids</c> of its
    /// <c>tokenizer_config.json</c> / <c>special_tokens_map.json</c> when present.
    /// </summary>
    /// <exception cref="TokenizerFileException">A file is missing, unreadable or malformed, or lacks a special token.</exception>
    public static T5Tokenizer Load(string folder)
    {
        var path = Path.Combine(folder, ModelFile);
        var bytes = TokenizerFolder.ReadRequired(folder, ModelFile, Fix);
        SentencePieceModel model;
        try
        {
            model = SentencePieceModelFile.Parse(bytes);
        }
        catch (InvalidProtocolBufferException error)
        {
            throw new TokenizerFileException(path, $"the file is not a serialized sentencepiece ModelProto ({error.Message})", Fix, error);
        }

        var count = model.Pieces.Count;
        if (count == 0)
        {
            throw new TokenizerFileException(path, "the model has no pieces", Fix);
        }

        if (model.Algorithm is not (SentencePieceAlgorithm.Unigram or SentencePieceAlgorithm.Bpe))
        {
            throw new TokenizerFileException(path, $"the model's type is {model.Algorithm}; Microsoft.ML.Tokenizers reads Unigram and BPE models only", Fix);
        }

        if (model.UnkId < 0 || model.UnkId >= count || model.PadId >= count)
        {
            throw new TokenizerFileException(path, $"the model's unk_id {model.UnkId} or pad_id {model.PadId} is not the id of one of its {count} pieces", Fix);
        }

        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var id = count - 1; id >= 0; id--)
        {
            ids[model.Pieces[id].Piece] = id;
        }

        var settings = TokenizerFolder.ReadSettings(folder);

        int Id(string key, string fallback)
        {
            var token = settings.Token(key, fallback);
            return ids.TryGetValue(token, out var id)
                ? id
                : throw new TokenizerFileException(path, $"the {key} '{token}' is not one of the model's pieces", $"{Fix} Or name a {key} the model has in {TokenizerFolder.SpecialTokensMap}.");
        }

        var eos = Id("eos_token", model.EosId >= 0 && model.EosId < count ? model.Pieces[model.EosId].Piece : model.EosPiece);
        var pad = Id("pad_token", model.PadId >= 0 ? model.Pieces[model.PadId].Piece : model.PadPiece);
        var unk = Id("unk_token", model.Pieces[model.UnkId].Piece);
        var extraIds = settings.Count("extra_ids", DefaultExtraIds);

        // Matched as units in a text, as HF's added tokens are.
        var special = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            [model.Pieces[eos].Piece] = eos,
            [model.Pieces[pad].Piece] = pad,
            [model.Pieces[unk].Piece] = unk,
        };
        for (var i = 0; i < extraIds; i++)
        {
            special[$"<extra_id_{i}>"] = count + extraIds - 1 - i;
        }

        // Left out by Decode besides those: the model's control pieces (and a BOS piece, which T5 has not).
        var controls = Enumerable.Range(0, count).Where(id => model.Pieces[id].Kind is SentencePieceKind.Control or SentencePieceKind.Unknown);
        var validBos = model.BosId >= 0 && model.BosId < count ? [model.BosId] : Array.Empty<int>();

        SentencePieceTokenizer sentencePiece;
        try
        {
            sentencePiece = SentencePieceTokenizer.Create(
                new MemoryStream(Loadable(bytes, model, (eos, model.Pieces[eos].Piece))),
                addBeginningOfSentence: false,
                addEndOfSentence: false,
                specialTokens: special);
        }
        catch (Exception error) when (error is ArgumentException or InvalidOperationException or IndexOutOfRangeException or InvalidProtocolBufferException)
        {
            throw new TokenizerFileException(path, $"Microsoft.ML.Tokenizers cannot load the model ({error.Message})", Fix, error);
        }

        return new T5Tokenizer(sentencePiece, count + extraIds, (eos, pad, unk), special.Values.Concat(controls).Concat(validBos));
    }

    /// <summary>The SentencePiece ids of <paramref name="text"/>, then EOS.</summary>
    public override long[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = _sentencePiece.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false);
        var result = new long[ids.Count + 1];
        for (var i = 0; i < ids.Count; i++)
        {
            result[i] = ids[i];
        }

        result[^1] = EosId;
        return result;
    }

    /// <summary>The text of <paramref name="ids"/>: special tokens, sentinels and ids past the vocabulary left out.</summary>
    public override string Decode(IEnumerable<long> ids) =>
        _sentencePiece.Decode(ids.Where(IsText).Select(id => (int)id), considerSpecialTokens: false);

    /// <summary>
    /// <paramref name="bytes"/> as Microsoft.ML.Tokenizers 2.0.1 can load them. Its Unigram reader indexes its piece table
    /// with <c>bos_id</c> and <c>eos_id</c> unchecked, and T5's model has <c>bos_id = -1</c> (no BOS): such an id is
    /// pointed at the EOS piece by a second <c>trainer_spec</c>, which protobuf merges into the first. The tokenizer never
    /// adds a BOS, so the stand-in is never emitted.
    /// </summary>
    private static byte[] Loadable(byte[] bytes, SentencePieceModel model, (int Id, string Piece) eos)
    {
        var count = model.Pieces.Count;
        var bos = model.BosId >= 0 && model.BosId < count ? ((int, string)?)null : eos;
        var modelEos = model.EosId >= 0 && model.EosId < count ? ((int, string)?)null : eos;
        return bos is null && modelEos is null ? bytes : SentencePieceModelFile.WithSpecialPieces(bytes, bos, modelEos);
    }
}
