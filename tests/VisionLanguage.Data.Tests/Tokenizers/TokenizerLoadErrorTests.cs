using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Testing;

namespace VisionLanguage.Data.Tests.Tokenizers;

public sealed class TokenizerLoadErrorTests : IDisposable
{
    private readonly DataTestFolder _folder = new();

    [Theory]
    [InlineData(LlmTokenizer.Opt)]
    [InlineData(LlmTokenizer.T5)]
    public void A_missing_folder_is_named(string architecture)
    {
        var folder = _folder.PathOf("nowhere");

        var error = Assert.Throws<TokenizerFileException>(() => LlmTokenizer.Load(folder, architecture));

        Assert.Equal((folder, "the tokenizer folder does not exist"), (error.FilePath, error.Problem));
    }

    [Fact]
    public void A_missing_merges_file_is_named_with_where_it_comes_from()
    {
        var folder = _folder.WriteOpt("opt");
        File.Delete(Path.Combine(folder, "merges.txt"));

        var error = Assert.Throws<TokenizerFileException>(() => LlmTokenizer.Load(folder, LlmTokenizer.Opt));

        Assert.Equal((Path.Combine(folder, "merges.txt"), "the file is missing"), (error.FilePath, error.Problem));
        Assert.Contains("ByteLevelBpeTrainer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_vocabulary_that_is_not_a_json_object_of_ids_is_refused()
    {
        var folder = _folder.WriteOpt("opt", vocabulary: """["a", "b"]""");

        var error = Assert.Throws<TokenizerFileException>(() => LlmTokenizer.Load(folder, LlmTokenizer.Opt));

        Assert.Equal(Path.Combine(folder, "vocab.json"), error.FilePath);
        Assert.StartsWith("the file is not a JSON object of token to id", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_merge_line_is_named_by_number()
    {
        var folder = _folder.WriteOpt("opt", merges: "#version: 0.2\na b\na b c\n");

        var error = Assert.Throws<TokenizerFileException>(() => LlmTokenizer.Load(folder, LlmTokenizer.Opt));

        Assert.Equal((Path.Combine(folder, "merges.txt"), "line 3 is 'a b c', not two tokens separated by one space"), (error.FilePath, error.Problem));
    }

    [Fact]
    public void Merges_of_tokens_the_vocabulary_lacks_are_refused()
    {
        var folder = _folder.WriteOpt("opt", merges: "#version: 0.2\nb c\nbc a\n");

        var error = Assert.Throws<TokenizerFileException>(() => LlmTokenizer.Load(folder, LlmTokenizer.Opt));

        Assert.Equal(Path.Combine(folder, "merges.txt"), error.FilePath);
        Assert.StartsWith("the merges do not fit vocab.json", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_special_token_the_vocabulary_lacks_is_named()
    {
        var folder = _folder.WriteOpt("opt", vocabulary: """{"</s>":0,"<unk>":1,"a":2,"b":3,"ab":4}""");

        var error = Assert.Throws<TokenizerFileException>(() => LlmTokenizer.Load(folder, LlmTokenizer.Opt));

        Assert.Equal((Path.Combine(folder, "vocab.json"), "the pad_token '<pad>' is not in the vocabulary"), (error.FilePath, error.Problem));
    }

    [Fact]
    public void A_broken_tokenizer_config_is_named()
    {
        var folder = _folder.WriteOpt("opt");
        _folder.WriteText("opt/tokenizer_config.json", "{\"add_bos_token\": tru");

        var error = Assert.Throws<TokenizerFileException>(() => LlmTokenizer.Load(folder, LlmTokenizer.Opt));

        Assert.Equal(Path.Combine(folder, "tokenizer_config.json"), error.FilePath);
        Assert.StartsWith("the file is not valid JSON", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_setting_of_the_wrong_kind_is_named_with_its_file()
    {
        var folder = _folder.WriteT5("t5", TokenizerTestFiles.T5Unigram);
        _folder.WriteText("t5/tokenizer_config.json", """{"extra_ids": "many"}""");

        var error = Assert.Throws<TokenizerFileException>(() => LlmTokenizer.Load(folder, LlmTokenizer.T5));

        Assert.Equal((Path.Combine(folder, "tokenizer_config.json"), "'extra_ids' is \"many\", not a count (an integer from 0)"), (error.FilePath, error.Problem));
    }

    [Fact]
    public void A_missing_spiece_model_is_named_with_where_it_comes_from()
    {
        Directory.CreateDirectory(_folder.PathOf("t5"));

        var error = Assert.Throws<TokenizerFileException>(() => LlmTokenizer.Load(_folder.PathOf("t5"), LlmTokenizer.T5));

        Assert.Equal((_folder.PathOf("t5/spiece.model"), "the file is missing"), (error.FilePath, error.Problem));
        Assert.Contains("SentencePieceTrainer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_spiece_model_that_is_not_a_model_proto_is_refused()
    {
        var folder = _folder.WriteT5("t5", "this is not a model"u8.ToArray());

        var error = Assert.Throws<TokenizerFileException>(() => LlmTokenizer.Load(folder, LlmTokenizer.T5));

        Assert.Equal(Path.Combine(folder, "spiece.model"), error.FilePath);
        Assert.StartsWith("the file is not a serialized sentencepiece ModelProto", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_spiece_model_has_no_pieces()
    {
        var folder = _folder.WriteT5("t5", Array.Empty<byte>());

        var error = Assert.Throws<TokenizerFileException>(() => LlmTokenizer.Load(folder, LlmTokenizer.T5));

        Assert.Equal("the model has no pieces", error.Problem);
    }

    [Fact]
    public void An_unknown_architecture_lists_the_known_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => LlmTokenizer.Load(_folder.Root, "llama"));

        Assert.Equal("tokenizer architecture 'llama' is not known; use one of opt, t5 (Parameter 'architecture')", error.Message);
    }

    public void Dispose() => _folder.Dispose();
}
