using VisionLanguage.Testing;

namespace VisionLanguage.Data.Tests;

public sealed class BlipTokenizerTests : IDisposable
{
    private static readonly string[] Captions = ["A red circle to the left of a blue square", "two small red circles", "a blue square, at the top!"];

    private readonly DataTestFolder _folder = new();

    [Fact]
    public void The_vocabulary_has_the_special_tokens_first_then_sorted_words_and_characters_then_continuation_pieces()
    {
        var tokens = BlipVocabulary.Build(["b a", "ab b!"]);

        Assert.Equal(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[ENC]", "[DEC]", "!", "a", "ab", "b", "##!", "##a", "##b"], tokens);
    }

    [Fact]
    public void The_vocabulary_is_the_same_for_the_same_captions_in_any_order_and_case()
    {
        var forward = BlipVocabulary.Build(Captions);
        var backward = BlipVocabulary.Build(Captions.Reverse().Select(caption => caption.ToUpperInvariant()));
        BlipVocabulary.Write(_folder.PathOf("one.txt"), forward);
        BlipVocabulary.Write(_folder.PathOf("two.txt"), backward);

        Assert.Equal(forward, backward);
        Assert.Equal(File.ReadAllBytes(_folder.PathOf("one.txt")), File.ReadAllBytes(_folder.PathOf("two.txt")));
        Assert.Equal(string.Join('\n', forward) + "\n", File.ReadAllText(_folder.PathOf("one.txt")));
    }

    [Fact]
    public void Rare_words_are_left_out_of_the_vocabulary_and_spelled_with_pieces()
    {
        var tokens = BlipVocabulary.Build(Captions, minWordCount: 2);
        var tokenizer = BlipTokenizer.FromTokens(tokens);

        Assert.Contains("red", tokens);
        Assert.DoesNotContain("left", tokens);
        var ids = tokenizer.Encode("left", 16);
        Assert.Equal(["[CLS]", "l", "##e", "##f", "##t", "[SEP]"], ids.Select(id => tokens[(int)id]));
        Assert.Equal("left", tokenizer.Decode(ids));
    }

    [Fact]
    public void Special_tokens_have_the_ids_of_their_lines_in_vocab_txt()
    {
        BlipVocabulary.Write(_folder.PathOf("vocab.txt"), BlipVocabulary.Build(Captions));

        var tokenizer = BlipTokenizer.FromVocabFile(_folder.PathOf("vocab.txt"));

        Assert.Equal((0L, 1L, 2L, 3L, 4L, 5L, 6L), (tokenizer.PadId, tokenizer.UnkId, tokenizer.ClsId, tokenizer.SepId, tokenizer.MaskId, tokenizer.EncId, tokenizer.DecId));
        Assert.Equal(File.ReadAllLines(_folder.PathOf("vocab.txt")).Length, tokenizer.VocabSize);
    }

    [Fact]
    public void Encode_lower_cases_splits_punctuation_and_wraps_in_cls_and_sep_and_decode_reverses_it()
    {
        var tokens = BlipVocabulary.Build(Captions);
        var tokenizer = BlipTokenizer.FromTokens(tokens);

        var ids = tokenizer.Encode("A Blue square, at the TOP!", 32);

        Assert.Equal(["[CLS]", "a", "blue", "square", ",", "at", "the", "top", "!", "[SEP]"], ids.Select(id => tokens[(int)id]));
        Assert.Equal("a blue square, at the top!", tokenizer.Decode(ids));
        Assert.Equal("[CLS] a blue square, at the top! [SEP]", tokenizer.Decode(ids, skipSpecialTokens: false));
    }

    [Fact]
    public void Special_tokens_written_in_a_text_are_encoded_as_themselves()
    {
        var tokens = BlipVocabulary.Build(Captions);
        var tokenizer = BlipTokenizer.FromTokens(tokens);

        var ids = tokenizer.Encode("[DEC] a red [MASK] [ENC]", 16);

        Assert.Equal([tokenizer.ClsId, tokenizer.DecId, Id(tokens, "a"), Id(tokens, "red"), tokenizer.MaskId, tokenizer.EncId, tokenizer.SepId], ids);
    }

    [Fact]
    public void A_word_with_an_unknown_character_becomes_unk()
    {
        var tokens = BlipVocabulary.Build(Captions);
        var tokenizer = BlipTokenizer.FromTokens(tokens);

        var ids = tokenizer.Encode("red zebra", 16);

        Assert.Equal([tokenizer.ClsId, Id(tokens, "red"), tokenizer.UnkId, tokenizer.SepId], ids);
    }

    [Fact]
    public void Long_texts_are_cut_before_sep_and_padded_texts_are_masked()
    {
        var tokens = BlipVocabulary.Build(Captions);
        var tokenizer = BlipTokenizer.FromTokens(tokens);

        var cut = tokenizer.Encode("a red circle to the left of a blue square", 5);
        var ids = new long[8];
        var mask = new long[8];
        var length = tokenizer.EncodePadded("two red circles", ids, mask);

        Assert.Equal(["[CLS]", "a", "red", "circle", "[SEP]"], cut.Select(id => tokens[(int)id]));
        Assert.Equal(5, length);
        Assert.Equal([tokenizer.ClsId, Id(tokens, "two"), Id(tokens, "red"), Id(tokens, "circles"), tokenizer.SepId, tokenizer.PadId, tokenizer.PadId, tokenizer.PadId], ids);
        Assert.Equal([1L, 1, 1, 1, 1, 0, 0, 0], mask);
        Assert.Equal("two red circles", tokenizer.Decode(ids));
    }

    [Fact]
    public void EncodeBatch_gives_int64_ids_and_mask_of_batch_by_max_length()
    {
        var tokens = BlipVocabulary.Build(Captions);
        var tokenizer = BlipTokenizer.FromTokens(tokens);

        var (ids, mask) = tokenizer.EncodeBatch(["two red circles", "a blue square"], 6);
        using (ids)
        using (mask)
        {
            Assert.Equal([2L, 6], ids.shape);
            Assert.Equal(TorchSharp.torch.int64, ids.dtype);
            Assert.Equal([tokenizer.ClsId, Id(tokens, "two"), Id(tokens, "red"), Id(tokens, "circles"), tokenizer.SepId, tokenizer.PadId,
                tokenizer.ClsId, Id(tokens, "a"), Id(tokens, "blue"), Id(tokens, "square"), tokenizer.SepId, tokenizer.PadId], ids.data<long>().ToArray());
            Assert.Equal([1L, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0], mask.data<long>().ToArray());
        }
    }

    [Fact]
    public void A_vocabulary_without_the_special_tokens_is_refused_with_the_fix()
    {
        _folder.WriteText("plain.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nred\n");

        var error = Assert.Throws<InvalidDataException>(() => BlipTokenizer.FromVocabFile(_folder.PathOf("plain.txt")));

        Assert.Equal(
            $"{_folder.PathOf("plain.txt")} lacks the special token(s) [ENC], [DEC]; BLIP needs [PAD], [UNK], [CLS], [SEP], [MASK], [ENC], [DEC]. " +
            "Rebuild it with BlipVocabulary.Build, which writes them first.", error.Message);
    }

    [Fact]
    public void Datasets_sharing_a_vocabulary_keep_it_and_others_get_one_built_from_all_captions()
    {
        var shared = BlipVocabulary.Build(Captions);
        foreach (var name in new[] { "a", "b", "c" })
        {
            Directory.CreateDirectory(_folder.PathOf(name));
        }

        BlipVocabulary.Write(_folder.PathOf("a/vocab.txt"), shared);
        BlipVocabulary.Write(_folder.PathOf("b/vocab.txt"), shared);
        BlipVocabulary.Write(_folder.PathOf("c/vocab.txt"), BlipVocabulary.Build(["zebra"]));

        Assert.Equal(shared, BlipVocabulary.ForDatasets([_folder.PathOf("a"), _folder.PathOf("b")], ["ignored when the files agree"]));
        Assert.Equal(BlipVocabulary.ForCaptions([.. Captions, "zebra"]), BlipVocabulary.ForDatasets([_folder.PathOf("a"), _folder.PathOf("c")], [.. Captions, "zebra"]));
        Assert.Equal(BlipVocabulary.Build(["no file", "a picture of", "a photo of"]), BlipVocabulary.ForDatasets([_folder.PathOf("none")], ["no file"]));
    }

    public void Dispose() => _folder.Dispose();

    private static long Id(IReadOnlyList<string> tokens, string token) => tokens.ToList().IndexOf(token);
}
