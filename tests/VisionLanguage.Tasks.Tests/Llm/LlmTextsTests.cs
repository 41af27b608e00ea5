using VisionLanguage.Data;
using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Tasks.Llm;

namespace VisionLanguage.Tasks.Tests.Llm;

/// <summary>How texts become an LLM's examples: what is learned and what is not, and the prefix LM's split.</summary>
public sealed class LlmTextsTests : IDisposable
{
    private static readonly string[] Corpus =
    [
        "a photo of a red circle", "a blue square left of a green triangle", "a photo of two yellow stars",
        "Question: what color is the circle? Answer: red", "a small red circle above a blue square",
    ];

    private readonly string _folder = Directory.CreateTempSubdirectory("llm-texts-").FullName;

    [Fact]
    public void Decoder_only_learns_the_caption_and_its_end_but_not_BOS_or_the_prompt()
    {
        var tokenizer = Trained(LlmTokenizer.Opt);
        var texts = new LlmTexts(tokenizer, "a photo of", "\n", prefixLm: true, maxLength: 32);
        var prompt = tokenizer.Encode("a photo of");                    // BOS first

        var example = texts.Example("a red circle", DataRandom.For(1));

        Assert.Equal(tokenizer.Encode("a photo of a red circle\n"), example.Input);
        Assert.Equal(prompt, example.Input[..prompt.Length]);
        Assert.Equal(prompt.Length, texts.PromptLength);
        Assert.Equal(tokenizer.BosId, example.Input[0]);
        Assert.All(example.Labels[..prompt.Length], label => Assert.Equal(-100, label));
        Assert.Equal(example.Input[prompt.Length..], example.Labels[prompt.Length..]);
        Assert.Equal(texts.EndId, example.Labels[^1]);
    }

    [Fact]
    public void A_context_goes_before_BOS_unlearned_where_stage_2_puts_the_soft_prompt()
    {
        var tokenizer = Trained(LlmTokenizer.Opt);
        var texts = new LlmTexts(tokenizer, "", "\n", prefixLm: true, maxLength: 48);
        var context = texts.Tokens("a red circle\n");

        var example = texts.Pair("Question: what color is the circle? Answer:", "red", "a red circle");

        Assert.Equal([.. context, .. tokenizer.Encode("Question: what color is the circle? Answer: red\n")], example.Input);
        Assert.All(example.Labels[..(context.Length + 1)], label => Assert.Equal(-100, label)); // the context and BOS
        Assert.Equal(example.Input[(context.Length + 1)..], example.Labels[(context.Length + 1)..]);
    }

    [Fact]
    public void The_prefix_LM_splits_from_the_second_token_to_the_midpoint_and_ends_both_halves_with_EOS()
    {
        var tokenizer = Trained(LlmTokenizer.T5);
        var texts = new LlmTexts(tokenizer, "", "\n", prefixLm: true, maxLength: 32);
        var caption = "a small red circle above a blue square";
        var tokens = texts.Tokens(caption);
        Assert.True(tokens.Length >= 4);

        var splits = new HashSet<int>();
        for (var seed = 0; seed < 200; seed++)
        {
            var example = texts.Example(caption, DataRandom.For(seed));
            Assert.Equal(tokenizer.EosId, example.Input[^1]);
            Assert.Equal(tokenizer.EosId, example.Labels[^1]);
            var prefix = example.Input[..^1];
            Assert.Equal(tokens, prefix.Concat(example.Labels[..^1]).ToArray());
            splits.Add(prefix.Length);
        }

        // Every split from 1 to ⌊n/2⌋ is drawn, and no other.
        Assert.Equal(Enumerable.Range(1, tokens.Length / 2), splits.Order());

        var whole = new LlmTexts(tokenizer, "a photo of", "\n", prefixLm: false, maxLength: 32).Example(caption, DataRandom.For(0));
        Assert.Equal([.. texts.Tokens("a photo of"), tokenizer.EosId], whole.Input);
        Assert.Equal([.. tokens, tokenizer.EosId], whole.Labels);
    }

    [Fact]
    public void Generation_prompts_pad_on_the_left_for_a_decoder_and_on_the_right_for_an_encoder()
    {
        foreach (var architecture in new[] { LlmTokenizer.Opt, LlmTokenizer.T5 })
        {
            var tokenizer = Trained(architecture);
            var texts = new LlmTexts(tokenizer, "", "\n", prefixLm: true, maxLength: 32);
            var (ids, mask) = texts.GenerationPrompts(["a photo of", "a photo of a red circle"]);
            var shortLength = tokenizer.Encode("a photo of").Length;
            var padding = (int)ids.shape[1] - shortLength;
            var row = mask[0].data<long>().ToArray();
            long[] expected = architecture == LlmTokenizer.Opt
                ? [.. Enumerable.Repeat(0L, padding), .. Enumerable.Repeat(1L, shortLength)]
                : [.. Enumerable.Repeat(1L, shortLength), .. Enumerable.Repeat(0L, padding)];
            Assert.Equal(expected, row);
        }
    }

    [Fact]
    public void An_end_token_of_several_tokens_is_refused_with_the_fix()
    {
        var error = Assert.Throws<ArgumentException>(() => new LlmTexts(Trained(LlmTokenizer.Opt), "", "<the end>", prefixLm: true, maxLength: 32));
        Assert.Contains("pick one that is a single token", error.Message);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private LlmTokenizer Trained(string architecture)
    {
        var folder = Path.Combine(_folder, architecture);
        if (!Directory.Exists(folder))
        {
            Directory.CreateDirectory(folder);
            if (architecture == LlmTokenizer.Opt)
            {
                ByteLevelBpeTrainer.Train(Corpus, 300, folder);
            }
            else
            {
                SentencePieceTrainer.Train(Corpus, 120, folder, extraIds: 0);
            }
        }

        return LlmTokenizer.Load(folder, architecture);
    }
}
