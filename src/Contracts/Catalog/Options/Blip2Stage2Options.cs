using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>
/// Options of <c>blip2.stage2</c>: the stage-1 Q-Former of input <c>qformer</c>, over the frozen image encoder of input
/// <c>image_encoder</c> (the one stage 1 was trained against), feeds the frozen LLM of input <c>llm</c> a soft visual
/// prompt. The Q-Former's shape comes from its checkpoint and the LLM's architecture (decoder-only OPT or
/// encoder-decoder T5) from its artifact, so neither is an option. Names and defaults follow LAVIS's stage-2 and
/// evaluation configs (<c>prompt</c>, <c>max_txt_len</c>, beams 5, captions of 8 to 30 new tokens, answers of at most 10).
/// </summary>
public sealed class Blip2Stage2Options : TrainingOptions
{
    [Option("Text after the soft prompt in training, before the caption; its tokens (and BOS) are not learned (LAVIS prompt; \"\" in pretraining).")]
    public string Prompt { get; set; } = "";

    [Option("Appended to every caption of a decoder-only LLM as its end token, and what ends its generation (LAVIS: \"\\n\"). An encoder-decoder LLM ends with its own </s>.")]
    public string EndToken { get; set; } = "\n";

    [Option("Encoder-decoder LLMs: train as a prefix LM (the caption split at a point drawn uniformly from its second token to its midpoint, the prefix to the encoder after the prompt and the rest as the target, LAVIS issue #139); false puts the whole caption in the target.")]
    public bool PrefixLm { get; set; } = true;

    [Option("The frozen LLM's dtype: fp32, or bf16 as LAVIS holds Flan-T5.")]
    public LlmPrecision LlmDtype { get; set; } = LlmPrecision.Fp32;

    [Option("compute runs the frozen image encoder on every batch's augmented images (LAVIS); cache computes each image's features once, without augmentation, and shares them with stage 1 and reruns.")]
    public ImageFeatures ImageFeatures { get; set; } = ImageFeatures.Compute;

    [Option("Evaluation captions start from this prompt, which is not part of the caption scored.")]
    public string CaptionPrompt { get; set; } = "a photo of";

    [Option("Beams of evaluation's captions and answers (1 is greedy)."), Range(1, 16)]
    public int NumBeams { get; set; } = 5;

    [Option("Evaluation captions: at least this many new tokens."), Range(0, 256)]
    public int CaptionMinNewTokens { get; set; } = 8;

    [Option("Evaluation captions: at most this many new tokens (the soft and text prompts take none of them)."), Range(1, 256)]
    public int CaptionMaxNewTokens { get; set; } = 30;

    [Option("Evaluation captions: HF repetition penalty (1 is none)."), Range(1.0, 10.0)]
    public double RepetitionPenalty { get; set; } = 1.0;

    [Option("Zero-shot VQA prompt, {} standing for the question; empty takes the paper's: \"Question: {} Answer:\" for a decoder-only LLM, \"Question: {} Short answer:\" for an encoder-decoder one.")]
    public string VqaPrompt { get; set; } = "";

    [Option("Zero-shot VQA: at most this many new tokens per answer."), Range(1, 64)]
    public int VqaMaxNewTokens { get; set; } = 10;

    [Option("Zero-shot VQA: beam length penalty (the paper: -1, favouring short answers)."), Range(-5.0, 5.0)]
    public double VqaLengthPenalty { get; set; } = -1.0;

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in base.Validate(validationContext))
        {
            yield return result;
        }

        if (CaptionMinNewTokens > CaptionMaxNewTokens)
        {
            yield return new ValidationResult(
                $"caption_min_new_tokens {CaptionMinNewTokens} is above caption_max_new_tokens {CaptionMaxNewTokens}; lower it",
                [nameof(CaptionMinNewTokens), nameof(CaptionMaxNewTokens)]);
        }

        if (VqaPrompt.Length > 0 && !VqaPrompt.Contains("{}", StringComparison.Ordinal))
        {
            yield return new ValidationResult(
                $"vqa_prompt \"{VqaPrompt}\" has no {{}} for the question; write it where the question goes, e.g. \"Question: {{}} Answer:\"",
                [nameof(VqaPrompt)]);
        }
    }
}
