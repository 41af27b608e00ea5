using Microsoft.ML.Tokenizers;
using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Testing;

namespace VisionLanguage.Data.Tests.Tokenizers;

public sealed class T5TokenizerTests : IDisposable
{
    private readonly DataTestFolder _folder = new();

    [Fact]
    public void Encode_segments_each_word_into_its_most_probable_pieces_and_appends_eos()
    {
        var tokenizer = LlmTokenizer.Load(_folder.WriteT5("t5", TokenizerTestFiles.T5Unigram), LlmTokenizer.T5);

        // "the cats" normalizes to "▁the▁cats". ▁the is one piece (−1). ▁cats: ▁ca + ts (−2.5 − 1.8 = −4.3) beats the
        // longer first piece ▁cat + s (−1.5 − 3 = −4.5): Unigram, not greedy longest match.
        Assert.Equal([4L, 10, 11, 1], tokenizer.Encode("the cats"));

        // ▁cat (−1.5) beats ▁ca + t (−5.5) and ▁ + c + a + t (−11).
        Assert.Equal([5L, 1], tokenizer.Encode("cat"));

        // Extra whitespace goes, as the model's normalizer spec says; an empty text is the EOS alone.
        Assert.Equal([4L, 5, 1], tokenizer.Encode("  the   cat  "));
        Assert.Equal([1L], tokenizer.Encode(""));
    }

    [Fact]
    public void Characters_the_model_lacks_are_unk_each_and_decode_leaves_them_out()
    {
        var tokenizer = LlmTokenizer.Load(_folder.WriteT5("t5", TokenizerTestFiles.T5Unigram), LlmTokenizer.T5);

        // ▁dog: ▁ (3), then d, o, g unknown: one unk each (Microsoft.ML.Tokenizers does not fuse them as sentencepiece does).
        Assert.Equal([4L, 3, 2, 2, 2, 1], tokenizer.Encode("the dog"));
        Assert.Equal("the ", tokenizer.Decode(tokenizer.Encode("the dog")));
    }

    [Fact]
    public void Special_ids_are_t5s_with_no_bos_and_the_sentinels_after_the_pieces()
    {
        var tokenizer = LlmTokenizer.Load(_folder.WriteT5("t5", TokenizerTestFiles.T5Unigram), LlmTokenizer.T5);

        Assert.IsType<T5Tokenizer>(tokenizer);
        Assert.Equal((LlmTokenizer.T5, (long?)null, 1L, 0L, 2L), (tokenizer.Architecture, tokenizer.BosId, tokenizer.EosId, tokenizer.PadId, tokenizer.UnkId));
        // 12 pieces and HF's 100 sentinels; <extra_id_0> is the last id, <extra_id_99> the first after the pieces.
        Assert.Equal(112, tokenizer.VocabularySize);
        Assert.Equal([111L, 4, 1], tokenizer.Encode("<extra_id_0> the"));
        Assert.Equal([12L, 1], tokenizer.Encode("<extra_id_99>"));
        Assert.Equal([4L, 1, 0, 5, 1], tokenizer.Encode("the</s><pad>cat"));
        Assert.Equal("the cat", tokenizer.Decode([111, 4, 1, 0, 5, 1, 112]));
    }

    [Fact]
    public void Tokenizer_config_sets_the_sentinel_count()
    {
        var folder = _folder.WriteT5("t5", TokenizerTestFiles.T5Unigram);
        _folder.WriteText("t5/tokenizer_config.json", """{"extra_ids": 0, "eos_token": "</s>"}""");

        var tokenizer = LlmTokenizer.Load(folder, LlmTokenizer.T5);

        Assert.Equal(12, tokenizer.VocabularySize);
        Assert.DoesNotContain(111L, tokenizer.Encode("<extra_id_0>"));
    }

    [Fact]
    public void A_t5_model_without_a_bos_piece_loads_although_the_library_alone_cannot_load_it()
    {
        var bytes = SentencePieceModelFile.Serialize(TokenizerTestFiles.T5Unigram);

        // Microsoft.ML.Tokenizers 2.0.1 indexes its piece table with bos_id = −1; T5Tokenizer points it at </s> first.
        Assert.Throws<IndexOutOfRangeException>(() => SentencePieceTokenizer.Create(new MemoryStream(bytes), addBeginningOfSentence: false, addEndOfSentence: true));
        var patched = SentencePieceModelFile.Parse(SentencePieceModelFile.WithSpecialPieces(bytes, (1, "</s>"), eos: null));
        Assert.Equal((1, "</s>", 1, 2, 0), (patched.BosId, patched.BosPiece, patched.EosId, patched.UnkId, patched.PadId));
        Assert.Equal(TokenizerTestFiles.T5Unigram.Pieces, patched.Pieces);
    }

    [Fact]
    public void A_bpe_model_loads_too_and_merges_the_highest_scoring_pair_first()
    {
        SentencePieceModel bpe = new(
            [
                new("<pad>", 0, SentencePieceKind.Control),  // 0
                new("</s>", 0, SentencePieceKind.Control),   // 1
                new("<unk>", 0, SentencePieceKind.Unknown),  // 2
                new("▁t", 0f, SentencePieceKind.Normal),     // 3
                new("he", -1f, SentencePieceKind.Normal),    // 4
                new("▁the", -2f, SentencePieceKind.Normal),  // 5
                new("▁", -3f, SentencePieceKind.Normal),     // 6
                new("t", -4f, SentencePieceKind.Normal),     // 7
                new("h", -5f, SentencePieceKind.Normal),     // 8
                new("e", -6f, SentencePieceKind.Normal),     // 9
            ],
            SentencePieceAlgorithm.Bpe,
            UnkId: 2,
            BosId: -1,
            EosId: 1,
            PadId: 0);
        var tokenizer = LlmTokenizer.Load(_folder.WriteT5("bpe", bpe), LlmTokenizer.T5);

        // ▁the: ▁·t (0) first → ▁t h e; then h·e (−1) → ▁t he; then ▁t·he → ▁the (−2). ▁he: ▁·h is no piece, h·e is → ▁ he.
        Assert.Equal([5L, 6, 4, 1], tokenizer.Encode("the he"));
        Assert.Equal("the he", tokenizer.Decode(tokenizer.Encode("the he")));
    }

    public void Dispose() => _folder.Dispose();
}
