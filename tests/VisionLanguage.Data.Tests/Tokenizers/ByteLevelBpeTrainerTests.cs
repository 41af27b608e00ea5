using System.Text.Json;
using Microsoft.ML.Tokenizers;
using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Testing;

namespace VisionLanguage.Data.Tests.Tokenizers;

public sealed class ByteLevelBpeTrainerTests : IDisposable
{
    private readonly DataTestFolder _folder = new();

    [Fact]
    public void The_most_frequent_pair_is_merged_first_and_ties_go_to_the_ordinally_smaller_pair()
    {
        // "ab ab ab ac" pre-tokenizes to ab ×1, Ġab ×2, Ġac ×1. Pairs: a·b 3, Ġ·a 3, a·c 1. The tie goes to a·b ('a' < 'Ġ').
        // Then Ġ·ab 2, Ġ·a 1, a·c 1: Ġ·ab. Then only pairs seen once are left, and the default needs two.
        var model = ByteLevelBpeTrainer.Learn(["ab ab ab ac"], vocabularySize: 300);

        Assert.Equal([("a", "b"), ("Ġ", "ab")], model.Merges);
        Assert.Equal(["ab", "Ġab"], model.Vocabulary.Skip(260));

        // Pairs seen once allowed: Ġ·a and a·c tie at 1, and 'a' < 'Ġ' again; the size asked for stops it there.
        var more = ByteLevelBpeTrainer.Learn(["ab ab ab ac"], vocabularySize: 263, minPairCount: 1);

        Assert.Equal([("a", "b"), ("Ġ", "ab"), ("a", "c")], more.Merges);
        Assert.Equal(263, more.Vocabulary.Count);
    }

    [Fact]
    public void The_vocabulary_starts_with_opts_special_tokens_then_the_byte_symbols_in_gpt2s_order()
    {
        var model = ByteLevelBpeTrainer.Learn(TokenizerTestFiles.Captions, vocabularySize: 300);

        Assert.Equal(["<s>", "<pad>", "</s>", "<unk>", "!", "\""], model.Vocabulary.Take(6));
        Assert.Equal("~", model.Vocabulary[4 + 93]);            // '!'…'~' are GPT-2's ids 0–93
        Assert.Equal("¡", model.Vocabulary[4 + 94]);
        Assert.Equal("\u0100", model.Vocabulary[4 + 188]);     // byte 0, the first byte that is not printable
        Assert.Equal('Ġ', GptByteLevel.Symbol((byte)' '));
        Assert.Equal(256, model.Vocabulary.Skip(4).Take(256).Distinct().Count());
    }

    [Fact]
    public void The_files_are_hfs_vocab_json_and_merges_txt_and_the_size_asked_for_is_reached()
    {
        var folder = _folder.PathOf("opt");

        var model = ByteLevelBpeTrainer.Train(TokenizerTestFiles.Captions, vocabularySize: 320, folder);

        var vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(folder, "vocab.json")))!;
        Assert.Equal(320, vocabulary.Count);
        Assert.Equal(Enumerable.Range(0, 320), model.Vocabulary.Select(token => vocabulary[token]));
        var merges = File.ReadAllLines(Path.Combine(folder, "merges.txt"));
        Assert.Equal("#version: 0.2", merges[0]);
        Assert.Equal(model.Merges.Select(merge => $"{merge.Left} {merge.Right}"), merges.Skip(1));
        Assert.Equal(60, model.Merges.Count);
        Assert.StartsWith("""{"<s>":0,"<pad>":1,"</s>":2,"<unk>":3,"!":4,"\"":5,""", File.ReadAllText(Path.Combine(folder, "vocab.json")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a red circle to the left of a blue square")]
    [InlineData("Zebras graze near 42 ünïcödé trees 🦓\n\ttabs")]
    public void The_trained_files_load_through_microsoft_ml_tokenizers_own_loader_and_round_trip(string text)
    {
        var folder = _folder.PathOf("opt");
        ByteLevelBpeTrainer.Train(TokenizerTestFiles.Captions, vocabularySize: 320, folder);
        var library = BpeTokenizer.Create(new BpeOptions(Path.Combine(folder, "vocab.json"), Path.Combine(folder, "merges.txt"))
        {
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(GptByteLevel.PreTokenizer(), null),
        });
        var opt = LlmTokenizer.Load(folder, LlmTokenizer.Opt);

        var ids = library.EncodeToIds(text);
        var withBos = opt.Encode(text);

        Assert.Equal(text, library.Decode(ids));
        Assert.Equal([2L, .. ids.Select(id => (long)id)], withBos);
        Assert.Equal(text, opt.Decode(withBos));
        Assert.Equal((2L, 2L, 1L, 3L, 320), (opt.BosId, opt.EosId, opt.PadId, opt.UnkId, opt.VocabularySize));
    }

    [Fact]
    public void A_training_word_is_one_token()
    {
        var folder = _folder.PathOf("opt");
        var vocabulary = ByteLevelBpeTrainer.Train(TokenizerTestFiles.Captions, vocabularySize: 320, folder).Vocabulary.ToList();

        var opt = LlmTokenizer.Load(folder, LlmTokenizer.Opt);

        Assert.Equal([2L, vocabulary.IndexOf("a"), vocabulary.IndexOf("Ġcircle")], opt.Encode("a circle"));
    }

    [Fact]
    public void Training_is_deterministic_whatever_the_order_of_the_texts()
    {
        ByteLevelBpeTrainer.Train(TokenizerTestFiles.Captions, vocabularySize: 320, _folder.PathOf("one"));
        ByteLevelBpeTrainer.Train(TokenizerTestFiles.Captions.Reverse(), vocabularySize: 320, _folder.PathOf("two"));

        Assert.Equal(DataTestFolder.Hashes(_folder.PathOf("one")), DataTestFolder.Hashes(_folder.PathOf("two")));
        Assert.Equal(
            ["merges.txt", "special_tokens_map.json", "tokenizer_config.json", "vocab.json"],
            DataTestFolder.Hashes(_folder.PathOf("one")).Keys);
    }

    [Fact]
    public void A_size_below_the_specials_and_bytes_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ByteLevelBpeTrainer.Learn(TokenizerTestFiles.Captions, vocabularySize: 259));
    }

    public void Dispose() => _folder.Dispose();
}
