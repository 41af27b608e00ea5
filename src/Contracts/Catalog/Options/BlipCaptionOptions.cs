using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>Options of <c>blip.finetune.caption</c>: LM finetune with a prompt, and the decoding used to evaluate.</summary>
public sealed class BlipCaptionOptions : TrainingOptions, ICaptionDecodingOptions
{
    [Option("Prompt the decoder starts from; the loss covers only the caption after it.")]
    public string Prompt { get; set; } = "a picture of ";

    [Option("Decoding used for evaluation captions.")]
    public DecodingMethod Decoding { get; set; } = DecodingMethod.Beam;

    [Option("Beams in beam search."), Range(1, 32)]
    public int BeamSize { get; set; } = 3;

    [Option("Shortest decoded sequence, in tokens, counting [DEC] and the prompt (as HuggingFace generate counts for BLIP)."), Range(0, 512)]
    public int MinLength { get; set; } = 5;

    [Option("Longest decoded sequence, in tokens, counting [DEC] and the prompt (as HuggingFace generate counts for BLIP)."), Range(1, 512)]
    public int MaxLength { get; set; } = 20;

    [Option("Nucleus sampling: the smallest token set whose probability reaches top_p."), Range(0.01, 1.0)]
    public double TopP { get; set; } = 0.9;

    [Option("Repetition penalty of nucleus sampling (beam search uses none, as BLIP)."), Range(1.0, 10.0)]
    public double RepetitionPenalty { get; set; } = 1.1;

    [Option("Label smoothing of the LM loss."), Range(0.0, 0.5)]
    public double LabelSmoothing { get; set; } = 0.1;

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in base.Validate(validationContext))
        {
            yield return result;
        }

        if (MinLength > MaxLength)
        {
            yield return new ValidationResult($"min_length {MinLength} is above max_length {MaxLength}; lower min_length", [nameof(MinLength)]);
        }
    }
}
