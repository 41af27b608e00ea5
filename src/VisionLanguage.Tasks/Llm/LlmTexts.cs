using VisionLanguage.Data;
using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Models.Llm;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Llm;

/// <summary>One text as an LLM learns it: its input ids and its labels (−100 where nothing is learned).</summary>
/// <param name="Input">Decoder-only: the whole sequence, BOS first. Encoder-decoder: the encoder's ids, EOS last.</param>
/// <param name="Labels">Decoder-only: aligned with <paramref name="Input"/>. Encoder-decoder: the decoder's targets, EOS last.</param>
public sealed record LlmExample(long[] Input, long[] Labels);

/// <summary>
/// How texts become an LLM's training examples, for <c>llm.pretrain</c> and stage 2 alike (LAVIS <c>blip2_opt.forward</c>,
/// <c>blip2_t5.forward</c>, reference §4):
/// <list type="bullet">
/// <item>decoder-only: <c>BOS prompt text end</c>, truncated to the longest length; labels −100 on BOS and the prompt
/// (LAVIS's <c>prompt_length</c> counts BOS) and on padding;</item>
/// <item>encoder-decoder: as a prefix LM, the text split at a point drawn uniformly from its second token to its
/// midpoint (LAVIS issue #139), <c>prompt prefix &lt;/s&gt;</c> to the encoder and <c>rest &lt;/s&gt;</c> as the target;
/// or, without the split, the prompt alone to the encoder and the whole text as the target.</item>
/// </list>
/// A prompt is joined to its text by one space, as LAVIS's text processor writes "a photo of " before the caption.
/// </summary>
public sealed class LlmTexts
{
    private readonly LlmTokenizer _tokenizer;
    private readonly string _prompt;
    private readonly string _end;
    private readonly bool _prefixLm;
    private readonly int _maxLength;

    /// <param name="tokenizer">The LLM's tokenizer; its architecture decides the layout.</param>
    /// <param name="prompt">Text before every text, not learned; may be empty.</param>
    /// <param name="endToken">Decoder-only: appended to every text and learned, so generation learns to stop (LAVIS: "\n").</param>
    /// <param name="prefixLm">Encoder-decoder: split texts as a prefix LM.</param>
    /// <param name="maxLength">Longest input and longest target, special tokens included (LAVIS <c>max_txt_len</c>).</param>
    public LlmTexts(LlmTokenizer tokenizer, string prompt, string endToken, bool prefixLm, int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        _tokenizer = tokenizer;
        _prompt = prompt;
        _end = endToken;
        _prefixLm = prefixLm;
        _maxLength = maxLength;
        PromptLength = DecoderOnly ? tokenizer.Encode(prompt).Length : Tokens(prompt).Length;
        EndId = DecoderOnly ? EndTokenId(endToken) : tokenizer.EosId;
        if (PromptLength >= maxLength)
        {
            throw new ArgumentException($"the prompt \"{prompt}\" takes {PromptLength} of the {maxLength} tokens of max_text_length; shorten it or raise max_text_length");
        }
    }

    public bool DecoderOnly => _tokenizer.Architecture == LlmTokenizer.Opt;

    /// <summary>Tokens before the text: BOS and the prompt's (decoder-only), the prompt's (encoder-decoder).</summary>
    public int PromptLength { get; }

    public LlmTokenizer Tokenizer => _tokenizer;

    /// <summary>
    /// What ends a generated text: the end token's id for a decoder-only LLM (LAVIS: "\n", 50118 in OPT's vocabulary),
    /// the tokenizer's EOS for an encoder-decoder one.
    /// </summary>
    public long EndId { get; }

    /// <summary>The ids of <paramref name="text"/> without the architecture's BOS or EOS.</summary>
    public long[] Tokens(string text)
    {
        var ids = _tokenizer.Encode(text);
        var start = _tokenizer.BosId is { } bos && ids.Length > 0 && ids[0] == bos ? 1 : 0;
        var end = !DecoderOnly && ids.Length > start && ids[^1] == _tokenizer.EosId ? ids.Length - 1 : ids.Length;
        return ids[start..end];
    }

    /// <summary>
    /// The example of <paramref name="text"/> after the prompt; <paramref name="random"/> draws the prefix LM's split. A
    /// <paramref name="context"/> comes first, unlabelled, as in <see cref="Pair(string, string, string?)"/>.
    /// </summary>
    public LlmExample Example(string text, DataRandom random, string? context = null)
    {
        var before = Context(context);
        if (DecoderOnly)
        {
            var ids = Truncate([.. before, .. _tokenizer.Encode(Join(_prompt, text) + _end)], _maxLength);
            var labels = ids.Select((id, index) => index < before.Length + PromptLength ? -100L : id).ToArray();
            return new LlmExample(ids, labels);
        }

        var tokens = Tokens(text);
        var split = _prefixLm && tokens.Length >= 2 ? random.Next(1, (tokens.Length / 2) + 1) : 0;
        return Pair([.. before, .. Tokens(_prompt), .. tokens[..split]], tokens[split..]);
    }

    /// <summary>The example of a corpus item: a text alone (<see cref="Example(string, DataRandom, string?)"/>) or a source and its target.</summary>
    public LlmExample Example(LlmTextItem item, DataRandom random) =>
        item.Target is null ? Example(item.Text, random, item.Context) : Pair(item.Text, item.Target, item.Context);

    /// <summary>
    /// The example of a question and its answer: decoder-only, the whole "source target" text learned after the prompt;
    /// encoder-decoder, the source to the encoder and the target as the decoder's. A <paramref name="context"/> comes
    /// first, unlabelled: before BOS with its end token (decoder-only) or before the source (encoder-decoder), where
    /// stage 2 puts its soft prompt, so that the model learns to answer from what precedes the question.
    /// </summary>
    public LlmExample Pair(string source, string target, string? context = null) =>
        DecoderOnly ? Example(Join(source, target), DataRandom.For(0), context) : Pair([.. Context(context), .. Tokens(Join(_prompt, source))], Tokens(target));

    /// <summary>Examples padded on the right into a batch (ids with the pad id, labels with −100).</summary>
    public LlmTextBatch Batch(IReadOnlyList<LlmExample> examples)
    {
        var length = examples.Max(example => example.Input.Length);
        var targetLength = examples.Max(example => example.Labels.Length);
        var ids = new long[examples.Count, length];
        var mask = new long[examples.Count, length];
        var labels = new long[examples.Count, targetLength];
        for (var row = 0; row < examples.Count; row++)
        {
            var example = examples[row];
            for (var column = 0; column < length; column++)
            {
                var real = column < example.Input.Length;
                ids[row, column] = real ? example.Input[column] : _tokenizer.PadId;
                mask[row, column] = real ? 1 : 0;
            }

            for (var column = 0; column < targetLength; column++)
            {
                labels[row, column] = column < example.Labels.Length ? example.Labels[column] : -100;
            }
        }

        return new LlmTextBatch(tensor(ids, device: CPU), tensor(mask, device: CPU), tensor(labels, device: CPU)); // built on the CPU; the loop places it
    }

    /// <summary>
    /// Generation prompts (images, P) with their mask, padded as LAVIS pads them: BOS and the prompt on the left
    /// (decoder-only, so that generation continues from the last real token); the prompt and EOS on the right
    /// (encoder-decoder, whose relative positions would otherwise put padding between soft prompt and text).
    /// </summary>
    public (Tensor Ids, Tensor Mask) GenerationPrompts(IReadOnlyList<string> prompts)
    {
        var encoded = prompts.Select(prompt => Truncate(_tokenizer.Encode(prompt), _maxLength)).ToList();
        var length = encoded.Max(ids => ids.Length);
        var ids = new long[prompts.Count, length];
        var mask = new long[prompts.Count, length];
        for (var row = 0; row < prompts.Count; row++)
        {
            var offset = DecoderOnly ? length - encoded[row].Length : 0;
            for (var column = 0; column < length; column++)
            {
                var real = column >= offset && column < offset + encoded[row].Length;
                ids[row, column] = real ? encoded[row][column - offset] : _tokenizer.PadId;
                mask[row, column] = real ? 1 : 0;
            }
        }

        return (tensor(ids, device: CPU), tensor(mask, device: CPU));
    }

    /// <summary>
    /// A context's tokens: a decoder-only context ends as a caption ends, with the end token, so that BOS never follows a
    /// caption's last word in training and the model does not learn to end a caption with it.
    /// </summary>
    private long[] Context(string? context) => context is null ? [] : Tokens(DecoderOnly ? context + _end : context);

    private long EndTokenId(string endToken)
    {
        var ids = Tokens(endToken);
        return ids.Length == 1
            ? ids[0]
            : throw new ArgumentException(
                $"end_token \"{endToken}\" is {ids.Length} tokens in this LLM's vocabulary, and generation stops at one token; pick one that is a single token, such as \"\\n\"");
    }

    private static string Join(string prompt, string text) =>
        prompt.Length == 0 ? text : char.IsWhiteSpace(prompt[^1]) ? prompt + text : prompt + " " + text;

    private static long[] Truncate(long[] ids, int length) => ids.Length <= length ? ids : ids[..length];

    private LlmExample Pair(long[] source, long[] target)
    {
        var input = Truncate(source, _maxLength - 1);
        var output = Truncate(target, _maxLength - 1);
        return new LlmExample([.. input, _tokenizer.EosId], [.. output, _tokenizer.EosId]);
    }
}
