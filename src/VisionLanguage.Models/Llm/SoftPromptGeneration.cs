using VisionLanguage.Models.Decoding;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Llm;

/// <summary>
/// The search a frozen LLM's generation runs (beam, greedy or nucleus) over a session that already holds the soft
/// prompt, with <c>max_new_tokens</c> rules (<see cref="DecodingRules.ForNewTokens"/>): only the tokens after the
/// search's prompt count, and only they come back, without the end token or padding.
/// </summary>
public static class SoftPromptGeneration
{
    /// <summary>The search <paramref name="settings"/> run: beam search of one beam is greedy search, as in HuggingFace.</summary>
    public static CaptionSearch SearchOf(LlmDecodingSettings settings) =>
        settings.Search == CaptionSearch.Beam && settings.BeamSize == 1 ? CaptionSearch.Greedy : settings.Search;

    /// <summary>Rows the session decodes per image: the beams of beam search, one otherwise.</summary>
    public static long RowsPerImage(LlmDecodingSettings settings) => SearchOf(settings) == CaptionSearch.Beam ? settings.BeamSize : 1;

    /// <param name="session">The decoder, opened with <see cref="RowsPerImage"/> rows per image.</param>
    /// <param name="prompt">What the search starts from (images, P): the text prompt of a decoder-only model, the start token of a decoder.</param>
    /// <param name="settings">Search and lengths.</param>
    /// <param name="endId">Ends a sequence.</param>
    /// <param name="padId">Fills sequences that ended.</param>
    /// <param name="generator">Draws of nucleus sampling (required then).</param>
    public static long[][] Run(IDecoderSession session, Tensor prompt, LlmDecodingSettings settings, long endId, long padId, Generator? generator)
    {
        settings.Check();
        var promptLength = (int)prompt.shape[1];
        var rules = DecodingRules.ForNewTokens(promptLength, settings.MinNewTokens, settings.MaxNewTokens, endId, padId, settings.RepetitionPenalty, settings.LengthPenalty);
        var rows = SearchOf(settings) switch
        {
            CaptionSearch.Beam => BeamSearch.Run(session, prompt, settings.BeamSize, rules),
            CaptionSearch.Nucleus => NucleusSampling.Run(
                session, prompt, rules, settings.TopP, settings.TopK, generator ?? throw new ArgumentNullException(nameof(generator), "nucleus sampling draws from a generator")),
            _ => GreedySearch.Run(session, prompt, rules),
        };
        return [.. rows.Select(row => NewTokens(row, promptLength, endId))];
    }

    private static long[] NewTokens(long[] row, int promptLength, long endId)
    {
        var tokens = row[promptLength..];
        return tokens.Length > 0 && tokens[^1] == endId ? tokens[..^1] : tokens;
    }
}
