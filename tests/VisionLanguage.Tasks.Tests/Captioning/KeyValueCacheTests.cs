using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Tasks.Captioning;
using VisionLanguage.Testing;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Tests.Captioning;

public sealed class KeyValueCacheTests
{
    [Fact]
    public void Cached_steps_give_the_logits_of_full_recomputation_through_prompt_steps_and_reordering()
    {
        using var model = new BlipPretrainModel(TinyBlip.Config(layers: 2), TinyBlip.Tokens, seed: 3);
        using var data = TinyBlip.Data();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var batch = data.Batch(size: 2, index: 0);
        using var generator = new Generator(9);
        model.eval();
        var imageEmbeds = model.ImageEmbeddings(batch.Images);                      // (2, S, Dv)
        const int rowsPerImage = 3;
        using var cached = new CachedDecoderSession(model.TextDecoder, imageEmbeds, rowsPerImage);
        using var full = new RecomputingDecoderSession(model.TextDecoder, imageEmbeds, rowsPerImage);

        var tokens = randint(7, TinyBlip.VocabSize, [6, 3], generator: generator); // a 3-token prompt per row
        tokens.select(1, 0).fill_(TinyBlip.Tokens.DecId);
        for (var step = 0; step < 8; step++)
        {
            var expected = full.Next(tokens);
            var actual = cached.Next(tokens);
            Assert.True((expected - actual).abs().max().item<float>() < 1e-5f, $"step {step}: {(expected - actual).abs().max().item<float>()}");
            // Beams move within their image: rows 0-2 belong to image 0, rows 3-5 to image 1.
            var reorder = tensor(new long[] { 2, 2, 0, 4, 3, 3 });
            cached.Reorder(reorder);
            full.Reorder(reorder);
            tokens = randint(7, TinyBlip.VocabSize, [6, 1], generator: generator);
        }
    }

    [Theory]
    [InlineData(CaptionSearch.Greedy)]
    [InlineData(CaptionSearch.Beam)]
    [InlineData(CaptionSearch.Nucleus)]
    public void Every_search_decodes_the_same_tokens_with_and_without_the_cache(CaptionSearch search)
    {
        using var model = new BlipPretrainModel(TinyBlip.Config(layers: 2), TinyBlip.Tokens, seed: 4);
        using var data = TinyBlip.Data();
        using var scope = NewDisposeScope();
        using var batch = data.Batch(size: 3, index: 1);
        var tokenizer = TinyTokenizer();
        var settings = new CaptionDecodingSettings { Search = search, MinLength = 4, MaxLength = 12, SamplesPerImage = 2, RepetitionPenalty = 1.1 };

        long[][] Decode(bool cache)
        {
            using var generator = new Generator(5);
            return new CaptionGenerator(model, tokenizer, "a picture of", settings with { UseCache = cache }).GenerateIds(batch.Images, generator);
        }

        var withCache = Decode(cache: true);
        var without = Decode(cache: false);

        Assert.Equal(search == CaptionSearch.Nucleus ? 6 : 3, withCache.Length);
        Assert.Equal(without, withCache);
        Assert.All(withCache, sequence => Assert.Equal([4L, 7, 8, 9], sequence[..4])); // [DEC] a picture of
    }

    [Fact]
    public void The_generator_returns_captions_without_the_prompt_and_restores_training_mode()
    {
        using var model = new BlipPretrainModel(TinyBlip.Config(), TinyBlip.Tokens, seed: 4);
        using var data = TinyBlip.Data();
        using var scope = NewDisposeScope();
        using var batch = data.Batch(size: 2, index: 1);
        var tokenizer = TinyTokenizer();
        model.train();
        var generator = new CaptionGenerator(model, tokenizer, "a picture of ", new CaptionDecodingSettings { MaxLength = 10 });

        var ids = generator.GenerateIds(batch.Images);
        var captions = generator.Generate(batch.Images);

        Assert.True(model.training);
        Assert.Equal(2, captions.Count);
        Assert.Equal(tokenizer.Decode(ids[0].Skip(4)).Trim(), Assert.Single(captions[0]));
        Assert.Equal(4, generator.Prompt.Length);
    }

    [Fact]
    public void A_prompt_with_a_word_outside_the_vocabulary_is_refused_naming_the_word()
    {
        using var model = new BlipPretrainModel(TinyBlip.Config(), TinyBlip.Tokens, seed: 4);

        var error = Assert.Throws<ArgumentException>(
            () => new CaptionGenerator(model, TinyTokenizer(), "a photograph of ", new CaptionDecodingSettings()));

        Assert.Contains("'photograph'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_max_length_that_leaves_no_room_after_the_prompt_is_refused()
    {
        using var model = new BlipPretrainModel(TinyBlip.Config(), TinyBlip.Tokens, seed: 4);

        var error = Assert.Throws<ArgumentException>(
            () => new CaptionGenerator(model, TinyTokenizer(), "a picture of ", new CaptionDecodingSettings { MinLength = 0, MaxLength = 4 }));

        Assert.Contains("raise max_length above 4", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A 40-token vocabulary matching <see cref="TinyBlip"/>'s special ids: [PAD] 0, [CLS] 1, [SEP] 2, [ENC] 3, [DEC] 4,
    /// [MASK] 5, [UNK] 6, then "a" 7, "picture" 8, "of" 9 and filler words.
    /// </summary>
    internal static BlipTokenizer TinyTokenizer() => BlipTokenizer.FromTokens(
        ["[PAD]", "[CLS]", "[SEP]", "[ENC]", "[DEC]", "[MASK]", "[UNK]", "a", "picture", "of", .. Enumerable.Range(0, 30).Select(i => $"w{i}")]);
}
