using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Testing;

namespace VisionLanguage.Data.Tests.Tokenizers;

public sealed class OptTokenizerTests : IDisposable
{
    private readonly DataTestFolder _folder = new();

    [Fact]
    public void Encode_puts_the_bos_first_and_merges_by_rank_as_the_merges_file_orders_them()
    {
        var tokenizer = LlmTokenizer.Load(_folder.WriteOpt("opt"), LlmTokenizer.Opt);

        // "ab": a·b (rank 0) → ab (8).
        Assert.Equal([2L, 8], tokenizer.Encode("ab"));

        // "abc ab" pre-tokenizes to "abc" and " ab" = "Ġab". abc: a·b (rank 0) → ab, then ab·c (rank 3) → abc (11).
        // Ġab: a·b (rank 0) comes before Ġ·a (rank 1) → Ġ, ab, and no merge joins Ġ·ab: 7, 8, though Ġab (10) is a token.
        Assert.Equal([2L, 11, 7, 8], tokenizer.Encode("abc ab"));

        // " a" = "Ġa": Ġ·a (rank 1) → 9. "aab": a·a is no merge, a·b is → a, ab. "ba": b·a is no merge.
        Assert.Equal([2L, 9], tokenizer.Encode(" a"));
        Assert.Equal([2L, 4, 8], tokenizer.Encode("aab"));
        Assert.Equal([2L, 5, 4], tokenizer.Encode("ba"));

        // Nothing but the BOS for an empty text; no EOS ever.
        Assert.Equal([2L], tokenizer.Encode(""));
    }

    [Fact]
    public void Decode_gives_the_text_back_without_special_tokens_or_ids_past_the_vocabulary()
    {
        var tokenizer = LlmTokenizer.Load(_folder.WriteOpt("opt"), LlmTokenizer.Opt);

        Assert.Equal("abc ab", tokenizer.Decode(tokenizer.Encode("abc ab")));
        Assert.Equal("ab", tokenizer.Decode([0, 1, 4, 2, 3, 5, 12, 99]));
    }

    [Fact]
    public void Special_tokens_written_in_a_text_are_single_ids()
    {
        var tokenizer = LlmTokenizer.Load(_folder.WriteOpt("opt"), LlmTokenizer.Opt);

        Assert.Equal([2L, 4, 2, 5], tokenizer.Encode("a</s>b"));
        Assert.Equal([2L, 4, 1], tokenizer.Encode("a<pad>"));
        Assert.Equal("ab", tokenizer.Decode(tokenizer.Encode("a</s>b")));
    }

    [Fact]
    public void A_byte_the_vocabulary_lacks_encodes_as_unk()
    {
        var tokenizer = LlmTokenizer.Load(_folder.WriteOpt("opt"), LlmTokenizer.Opt);

        Assert.Equal([2L, 4, 3], tokenizer.Encode("ax"));
        Assert.Equal("a", tokenizer.Decode(tokenizer.Encode("ax")));
    }

    [Fact]
    public void Special_ids_are_read_from_the_vocabulary_not_assumed()
    {
        // OPT's special tokens at other ids than OPT's 0–3.
        const string vocabulary = """{"a":0,"b":1,"ab":2,"<unk>":3,"</s>":4,"<pad>":5,"<s>":6}""";
        var tokenizer = LlmTokenizer.Load(_folder.WriteOpt("moved", vocabulary, "#version: 0.2\na b\n"), LlmTokenizer.Opt);

        Assert.Equal((LlmTokenizer.Opt, 4L, 4L, 5L, 3L, 7), (tokenizer.Architecture, tokenizer.BosId, tokenizer.EosId, tokenizer.PadId, tokenizer.UnkId, tokenizer.VocabularySize));
        Assert.Equal([4L, 2], tokenizer.Encode("ab"));
        Assert.Equal([3L, 4, 5, 6], tokenizer.SpecialIds.Order());
    }

    [Fact]
    public void Opt_defaults_are_bos_and_eos_slash_s_pad_and_unk_with_the_vocabulary_size_the_largest_id_plus_one()
    {
        var tokenizer = LlmTokenizer.Load(_folder.WriteOpt("opt"), LlmTokenizer.Opt);

        Assert.IsType<OptTokenizer>(tokenizer);
        Assert.Equal((2L, 2L, 1L, 3L, 12), (tokenizer.BosId, tokenizer.EosId, tokenizer.PadId, tokenizer.UnkId, tokenizer.VocabularySize));
    }

    [Fact]
    public void Special_tokens_map_names_the_tokens_and_tokenizer_config_the_switches()
    {
        var folder = _folder.WriteOpt("opt");
        // As facebook/opt-* publish them: unk is </s> too, in HF's object form.
        _folder.WriteText("opt/special_tokens_map.json", """
            {"bos_token": "</s>", "eos_token": "</s>", "pad_token": "<pad>",
             "unk_token": {"content": "</s>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false}}
            """);
        _folder.WriteText("opt/tokenizer_config.json", """{"add_bos_token": false, "add_prefix_space": true, "unk_token": "<unk>"}""");

        var tokenizer = LlmTokenizer.Load(folder, LlmTokenizer.Opt);

        // special_tokens_map.json wins over tokenizer_config.json, as in HF.
        Assert.Equal(2L, tokenizer.UnkId);
        // No BOS; the prefix space makes "ab" into "Ġab": a·b first → Ġ, ab.
        Assert.Equal([7L, 8], tokenizer.Encode("ab"));
    }

    public void Dispose() => _folder.Dispose();
}
