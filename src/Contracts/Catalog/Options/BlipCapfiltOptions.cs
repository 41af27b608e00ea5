using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>Options of <c>blip.capfilt</c>: the captioner samples captions, the filter keeps pairs whose ITM score reaches the threshold.</summary>
public sealed class BlipCapfiltOptions : IValidatableObject
{
    [Option("ITM match probability at or above which a pair is kept."), Range(0.0, 1.0)]
    public double Threshold { get; set; } = 0.5;

    [Option("Share of the clean pairs of input 'calibration' to reject: when set, the threshold is the score that share of them falls below, and 'threshold' is not used. Needs input 'calibration', or input 'scores' from a run that had one."), Range(0.0, 0.5)]
    public double? CleanRejectShare { get; set; }

    [Option("Synthetic captions sampled per web image."), Range(0, 64)]
    public int CaptionsPerImage { get; set; } = 1;

    [Option("Nucleus sampling threshold of the captioner."), Range(0.01, 1.0)]
    public double TopP { get; set; } = 0.9;

    [Option("Repetition penalty of the captioner."), Range(1.0, 10.0)]
    public double RepetitionPenalty { get; set; } = 1.1;

    [Option("Shortest synthetic caption, in tokens, counting [DEC] and the captioner's prompt (as HuggingFace generate counts for BLIP)."), Range(0, 512)]
    public int MinLength { get; set; } = 5;

    [Option("Longest synthetic caption, in tokens, counting [DEC] and the captioner's prompt (as HuggingFace generate counts for BLIP)."), Range(1, 512)]
    public int MaxLength { get; set; } = 20;

    [Option("Web images per shard; finished shards are not redone when a run resumes."), Range(1, 1_000_000)]
    public int ShardSize { get; set; } = 256;

    [Option("Seed of caption sampling.")]
    public int Seed { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MinLength > MaxLength)
        {
            yield return new ValidationResult($"min_length {MinLength} is above max_length {MaxLength}; lower min_length", [nameof(MinLength)]);
        }
    }
}
