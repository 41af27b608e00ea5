using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>
/// Options of <c>evaluate</c>: the task whose metric scores the checkpoint (which decides the checkpoint types it takes),
/// how the dataset is read, and, for captioning, how captions are decoded (the defaults are <c>blip.finetune.caption</c>'s).
/// </summary>
public sealed class EvaluateOptions : ICaptionDecodingOptions, IValidatableObject
{
    [Option("The metric: retrieval (recall@1/5/10 both ways) scores a blip.pretrain, blip.finetune.retrieval, blip2.stage1 or blip2.finetune.retrieval checkpoint; caption (BLEU-4, CIDEr-D) a blip.finetune.caption, blip2.stage2 or blip2.finetune.caption checkpoint; vqa (VQA accuracy) a blip.finetune.vqa or blip2.finetune.vqa checkpoint; nlvr2 (accuracy) a blip.finetune.nlvr2 checkpoint. A BLIP-2 model through an LLM is scored with the prompt, end token, LLM dtype and search its stage evaluated with, recorded in its checkpoint; the caption and VQA decoding options here are BLIP's.")]
    public EvaluationTask Task { get; set; } = EvaluationTask.Retrieval;

    [Option("Samples per batch."), Range(1, 65_536)]
    public int BatchSize { get; set; } = 32;

    [Option("Longest text read from the dataset, in tokens: a caption (retrieval), a question (vqa) or a statement (nlvr2)."), Range(4, 512)]
    public int MaxTextLength { get; set; } = 24;

    [Option("Retrieval: candidates ITC ranks highest that ITM re-ranks."), Range(1, 4096)]
    public int EvalTopK { get; set; } = 16;

    [Option("Caption: decoding.")]
    public DecodingMethod Decoding { get; set; } = DecodingMethod.Beam;

    [Option("VQA ranking: candidates kept per question by the probability of their first token before their full likelihood picks one (BLIP's k_test). The method, the candidate list and the longest answer are the checkpoint's."), Range(1, 100_000)]
    public int AnswerCandidates { get; set; } = 128;

    [Option("Caption, and VQA by generation: beams in beam search."), Range(1, 32)]
    public int BeamSize { get; set; } = 3;

    [Option("Caption: shortest decoded sequence, in tokens, counting [DEC] and the prompt."), Range(0, 512)]
    public int MinLength { get; set; } = 5;

    [Option("Caption: longest decoded sequence, in tokens, counting [DEC] and the prompt."), Range(1, 512)]
    public int MaxLength { get; set; } = 20;

    [Option("Caption, nucleus sampling: the smallest token set whose probability reaches top_p."), Range(0.01, 1.0)]
    public double TopP { get; set; } = 0.9;

    [Option("Caption, nucleus sampling: the repetition penalty."), Range(1.0, 10.0)]
    public double RepetitionPenalty { get; set; } = 1.1;

    [Option("Seed of nucleus sampling.")]
    public int Seed { get; set; }

    [Option("What an unusable data entry does: fail the stage, or skip it and count it.")]
    public BadDataPolicy OnBadData { get; set; } = BadDataPolicy.Fail;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MinLength > MaxLength)
        {
            yield return new ValidationResult($"min_length {MinLength} is above max_length {MaxLength}; lower min_length", [nameof(MinLength)]);
        }
    }
}
