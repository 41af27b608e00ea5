using VisionLanguage.Data;
using VisionLanguage.Models.Llm;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2Finetunes;

/// <summary>How the BLIP-2 VQA finetune reads its inputs, trains and evaluates (options of <c>blip2.finetune.vqa</c>).</summary>
public sealed record Blip2VqaFinetuneSettings
{
    public required TrainerSettings Trainer { get; init; }

    /// <summary>Batches, crops, flips, image size and the longest LLM text.</summary>
    public required LoaderSettings Loader { get; init; }

    public BadDataPolicy BadData { get; init; } = BadDataPolicy.Fail;

    /// <summary>The LLM's prompt with {} for the question; null takes "Question: {} Answer:" (the paper's Table 8).</summary>
    public string? Prompt { get; init; }

    /// <summary>The longest question the Q-Former reads, in its own tokens.</summary>
    public int MaxQuestionLength { get; init; } = 35;

    /// <summary>A decoder-only LLM's end token, learned after each answer and ending its generation.</summary>
    public string EndToken { get; init; } = "\n";

    /// <summary>The frozen LLM's dtype: float32 or bfloat16.</summary>
    public ScalarType LlmDtype { get; init; } = ScalarType.Float32;

    /// <summary>Evaluation answers: beam 5, at most 10 new tokens, length penalty −1 (the paper's).</summary>
    public LlmDecodingSettings Answering { get; init; } = new() { BeamSize = 5, MinNewTokens = 1, MaxNewTokens = 10, LengthPenalty = -1.0 };
}
