using Microsoft.ML.Tokenizers;
using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Testing;

namespace VisionLanguage.Data.Tests.Tokenizers;

public sealed class SentencePieceTrainerTests : IDisposable
{
    private readonly DataTestFolder _folder = new();

    [Fact]
    public void Pieces_come_from_bpe_merges_and_scores_from_how_often_the_segmentations_use_them()
    {
        // "ab ab ab ac" normalizes to ▁ab ×3 and ▁ac ×1. Characters: a b c ▁. Pairs: ▁·a 4, a·b 3, a·c 1 → ▁a; then
        // ▁a·b 3, ▁a·c 1 → ▁ab; then nothing is seen twice. 4 special + 4 characters + 2 pieces = 10.
        // The segmentations ▁ab ×3 and ▁a c ×1 use 5 pieces: ▁ab 3/5, ▁a 1/5, c 1/5, and the unused a, b, ▁ half a use
        // each, 0.5/5. Viterbi segments both words the same way again, so the scores stay.
        var model = SentencePieceTrainer.Learn(["ab ab ab ac"], vocabularySize: 10);

        Assert.Equal(
            [
                ("<pad>", 0f, SentencePieceKind.Control), ("</s>", 0f, SentencePieceKind.Control), ("<unk>", 0f, SentencePieceKind.Unknown),
                ("<s>", 0f, SentencePieceKind.Control), ("▁ab", Log(3 / 5.0), SentencePieceKind.Normal),
                ("c", Log(1 / 5.0), SentencePieceKind.Normal), ("▁a", Log(1 / 5.0), SentencePieceKind.Normal),
                ("a", Log(0.5 / 5), SentencePieceKind.Normal), ("b", Log(0.5 / 5), SentencePieceKind.Normal), ("▁", Log(0.5 / 5), SentencePieceKind.Normal),
            ],
            model.Pieces.Select(piece => (piece.Piece, piece.Score, piece.Kind)));
        Assert.Equal((SentencePieceAlgorithm.Unigram, 0, 1, 2, 3), (model.Algorithm, model.PadId, model.EosId, model.UnkId, model.BosId));
        Assert.Equal(("identity", true, true, true, false), (model.NormalizerName, model.AddDummyPrefix, model.RemoveExtraWhitespaces, model.EscapeWhitespaces, model.ByteFallback));
    }

    [Fact]
    public void The_trained_model_encodes_as_its_training_segmented()
    {
        var folder = _folder.PathOf("t5");
        SentencePieceTrainer.Train(["ab ab ab ac"], vocabularySize: 10, folder);

        var tokenizer = LlmTokenizer.Load(folder, LlmTokenizer.T5);

        // ▁ab (4); ▁a (6) c (5); </s>.
        Assert.Equal([4L, 6, 5, 1], tokenizer.Encode("ab ac"));
    }

    [Theory]
    [InlineData("a red circle to the left of a blue square")]
    [InlineData("four green triangles below the big picture")]
    public void The_trained_model_loads_through_microsoft_ml_tokenizers_own_loader_and_round_trips(string text)
    {
        var folder = _folder.PathOf("t5");
        SentencePieceTrainer.Train(TokenizerTestFiles.Captions, vocabularySize: 80, folder);
        using var stream = File.OpenRead(Path.Combine(folder, "spiece.model"));
        var library = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: true);
        var t5 = LlmTokenizer.Load(folder, LlmTokenizer.T5);

        var ids = library.EncodeToIds(text);

        Assert.Equal((1, 2), (library.EndOfSentenceId, library.UnknownId));
        Assert.Equal(1, ids[^1]);
        Assert.DoesNotContain(2, ids);
        Assert.Equal(text, library.Decode(ids, considerSpecialTokens: false));
        Assert.Equal(ids.Select(id => (long)id), t5.Encode(text));
        Assert.Equal(text, t5.Decode(t5.Encode(text)));
    }

    [Fact]
    public void The_size_asked_for_is_reached_and_the_sentinels_come_on_top()
    {
        var folder = _folder.PathOf("t5");

        var model = SentencePieceTrainer.Train(TokenizerTestFiles.Captions, vocabularySize: 80, folder, extraIds: 3);

        var tokenizer = LlmTokenizer.Load(folder, LlmTokenizer.T5);
        Assert.Equal(80, model.Pieces.Count);
        Assert.Equal(80, SentencePieceModelFile.Parse(File.ReadAllBytes(Path.Combine(folder, "spiece.model"))).Pieces.Count);
        Assert.Equal((83, (long?)null, 1L, 0L, 2L), (tokenizer.VocabularySize, tokenizer.BosId, tokenizer.EosId, tokenizer.PadId, tokenizer.UnkId));
        Assert.Equal([82L, 1], tokenizer.Encode("<extra_id_0>"));
    }

    [Fact]
    public void Characters_the_corpus_lacks_are_unk()
    {
        var folder = _folder.PathOf("t5");
        SentencePieceTrainer.Train(TokenizerTestFiles.Captions, vocabularySize: 80, folder);

        var tokenizer = LlmTokenizer.Load(folder, LlmTokenizer.T5);

        var ids = tokenizer.Encode("zebra");
        Assert.Equal(2L, ids[1]);                    // ▁, then z unknown
        Assert.Equal("ebra", tokenizer.Decode(ids));
    }

    [Fact]
    public void Training_is_deterministic_whatever_the_order_of_the_texts()
    {
        SentencePieceTrainer.Train(TokenizerTestFiles.Captions, vocabularySize: 80, _folder.PathOf("one"));
        SentencePieceTrainer.Train(TokenizerTestFiles.Captions.Reverse(), vocabularySize: 80, _folder.PathOf("two"));

        Assert.Equal(DataTestFolder.Hashes(_folder.PathOf("one")), DataTestFolder.Hashes(_folder.PathOf("two")));
        Assert.Equal(["special_tokens_map.json", "spiece.model", "tokenizer_config.json"], DataTestFolder.Hashes(_folder.PathOf("one")).Keys);
    }

    [Fact]
    public void A_size_without_room_for_every_character_is_refused()
    {
        // 22 distinct characters (▁ among them) and 4 special pieces.
        var error = Assert.Throws<ArgumentException>(() => SentencePieceTrainer.Learn(TokenizerTestFiles.Captions, vocabularySize: 25));

        Assert.StartsWith("vocabulary size 25 leaves no room for the corpus's 22 characters and the 4 special pieces; ask for at least 26", error.Message, StringComparison.Ordinal);
    }

    private static float Log(double probability) => (float)Math.Log(probability);

    public void Dispose() => _folder.Dispose();
}
