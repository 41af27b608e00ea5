using VisionLanguage.Data;
using VisionLanguage.Models.Llm;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2;

/// <summary>How BLIP-2 stage 2 reads its inputs, trains and evaluates (options of <c>blip2.stage2</c>).</summary>
public sealed record Blip2Stage2Settings
{
    public required TrainerSettings Trainer { get; init; }

    /// <summary>Batches, crops, flips, image size and the longest text (LAVIS <c>max_txt_len</c>).</summary>
    public required LoaderSettings Loader { get; init; }

    public BadDataPolicy BadData { get; init; } = BadDataPolicy.Fail;

    /// <summary>Text after the soft prompt in training, not learned.</summary>
    public string Prompt { get; init; } = "";

    /// <summary>A decoder-only LLM's end token, learned after each caption and ending its generation.</summary>
    public string EndToken { get; init; } = "\n";

    /// <summary>An encoder-decoder LLM trains as a prefix LM.</summary>
    public bool PrefixLm { get; init; } = true;

    /// <summary>The frozen LLM's dtype: float32 or bfloat16.</summary>
    public ScalarType LlmDtype { get; init; } = ScalarType.Float32;

    public bool CacheImageFeatures { get; init; }

    /// <summary>Evaluation captions' prompt.</summary>
    public string CaptionPrompt { get; init; } = "a photo of";

    /// <summary>Evaluation captions: beam 5, 8 to 30 new tokens (LAVIS's caption evaluation configs).</summary>
    public LlmDecodingSettings Captioning { get; init; } = new() { BeamSize = 5, MinNewTokens = 8, MaxNewTokens = 30 };

    /// <summary>Zero-shot VQA's prompt with {} for the question; null takes the paper's for the LLM's architecture.</summary>
    public string? VqaPrompt { get; init; }

    /// <summary>Zero-shot VQA: beam 5, at most 10 new tokens, length penalty −1 (the paper's §4.1).</summary>
    public LlmDecodingSettings Vqa { get; init; } = new() { BeamSize = 5, MinNewTokens = 1, MaxNewTokens = 10, LengthPenalty = -1.0 };
}
