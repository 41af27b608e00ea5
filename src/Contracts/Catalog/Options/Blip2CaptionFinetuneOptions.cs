using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>
/// Options of <c>blip2.finetune.caption</c>: the stage-2 model of input <c>init</c> finetuned for captioning with its
/// image encoder trained and its LLM frozen. The shapes come from the init, the encoder it records and the LLM, so none
/// is an option. Names and defaults follow LAVIS's <c>caption_coco_ft.yaml</c> and the paper's Table 7 (prompt "a photo
/// of", beams 5, captions of 8 to 30 new tokens).
/// </summary>
public sealed class Blip2CaptionFinetuneOptions : TrainingOptions
{
    [Option("Text after the soft prompt, before each caption; its tokens (and BOS) are not learned, and evaluation captions start from it (LAVIS prompt \"a photo of\").")]
    public string Prompt { get; set; } = "a photo of";

    [Option("Appended to every caption of a decoder-only LLM as its end token, and what ends its generation (LAVIS: \"\\n\"). An encoder-decoder LLM ends with its own </s>.")]
    public string EndToken { get; set; } = "\n";

    [Option("The frozen LLM's dtype: fp32, or bf16 as LAVIS holds Flan-T5. The image encoder trains in fp32 whatever this says (LAVIS vit_precision fp32 when it is not frozen).")]
    public LlmPrecision LlmDtype { get; set; } = LlmPrecision.Fp32;

    [Option("Beams of evaluation's captions (1 is greedy)."), Range(1, 16)]
    public int NumBeams { get; set; } = 5;

    [Option("Evaluation captions: at least this many new tokens."), Range(0, 256)]
    public int MinNewTokens { get; set; } = 8;

    [Option("Evaluation captions: at most this many new tokens (the soft and text prompts take none of them)."), Range(1, 256)]
    public int MaxNewTokens { get; set; } = 30;

    [Option("Evaluation captions: HF repetition penalty (1 is none)."), Range(1.0, 10.0)]
    public double RepetitionPenalty { get; set; } = 1.0;

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in base.Validate(validationContext))
        {
            yield return result;
        }

        if (MinNewTokens > MaxNewTokens)
        {
            yield return new ValidationResult(
                $"min_new_tokens {MinNewTokens} is above max_new_tokens {MaxNewTokens}; lower it",
                [nameof(MinNewTokens), nameof(MaxNewTokens)]);
        }

        if (EndToken.Length == 0)
        {
            yield return new ValidationResult(
                "end_token is empty; a decoder-only LLM needs a token that ends each caption, e.g. \"\\n\" (LAVIS)", [nameof(EndToken)]);
        }
    }
}
