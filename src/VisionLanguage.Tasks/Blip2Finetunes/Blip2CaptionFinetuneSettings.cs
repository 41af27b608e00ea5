using VisionLanguage.Data;
using VisionLanguage.Models.Llm;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2Finetunes;

/// <summary>How the BLIP-2 caption finetune reads its inputs, trains and evaluates (options of <c>blip2.finetune.caption</c>).</summary>
public sealed record Blip2CaptionFinetuneSettings
{
    public required TrainerSettings Trainer { get; init; }

    /// <summary>Batches, crops, flips, image size and the longest text (LAVIS <c>max_txt_len</c>).</summary>
    public required LoaderSettings Loader { get; init; }

    public BadDataPolicy BadData { get; init; } = BadDataPolicy.Fail;

    /// <summary>
    /// Text after the soft prompt, before the caption, not learned; also the evaluation captions' prompt (LAVIS
    /// <c>caption_coco_ft.yaml</c>: "a photo of").
    /// </summary>
    public string Prompt { get; init; } = "a photo of";

    /// <summary>A decoder-only LLM's end token, learned after each caption and ending its generation.</summary>
    public string EndToken { get; init; } = "\n";

    /// <summary>The frozen LLM's dtype: float32 or bfloat16.</summary>
    public ScalarType LlmDtype { get; init; } = ScalarType.Float32;

    /// <summary>Evaluation captions: beam 5, 8 to 30 new tokens (LAVIS <c>caption_coco_ft.yaml</c>).</summary>
    public LlmDecodingSettings Captioning { get; init; } = new() { BeamSize = 5, MinNewTokens = 8, MaxNewTokens = 30 };
}
