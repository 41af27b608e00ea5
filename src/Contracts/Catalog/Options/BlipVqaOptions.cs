using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>How <c>blip.finetune.vqa</c> answers the evaluation questions.</summary>
public enum VqaInference
{
    /// <summary>Rank the answer list: the top k by first-token probability, then the best by full likelihood (BLIP's default).</summary>
    Rank,

    /// <summary>Generate with beam search from [DEC].</summary>
    Generate,
}

/// <summary>
/// Options of <c>blip.finetune.vqa</c>: the answer decoder's loss, and how the evaluation answers. The model's shape comes
/// from the <c>init</c> checkpoint.
/// </summary>
public sealed class BlipVqaOptions : TrainingOptions
{
    [Option("How evaluation answers: rank the answer list (answer_list.json of the eval data, else of the training data, else the training answers) or generate.")]
    public VqaInference Inference { get; set; } = VqaInference.Rank;

    [Option("Ranking: candidates kept per question by the probability of their first token before their full likelihood picks one (BLIP's k_test)."), Range(1, 100_000)]
    public int AnswerCandidates { get; set; } = 128;

    [Option("Generation: beams of beam search (1 decodes greedily)."), Range(1, 32)]
    public int BeamSize { get; set; } = 3;

    [Option("Generation: the shortest answer, in tokens, counting [DEC] (as HuggingFace generate counts)."), Range(1, 512)]
    public int MinAnswerLength { get; set; } = 1;

    [Option("The longest answer, in tokens, counting [DEC] and [SEP]: generation stops there, and longer training answers and candidates are cut."), Range(3, 512)]
    public int MaxAnswerLength { get; set; } = 10;

    [Option("Label smoothing of the answer loss (BLIP: 0.1; ranking scores candidates with the same loss)."), Range(0.0, 0.5)]
    public double LabelSmoothing { get; set; } = 0.1;

    [Option("Smallest area share of an image kept by the training crop (random-resized-crop, as LAVIS's blip_image_train min_scale)."), Range(0.05, 1.0)]
    public double CropMinScale { get; set; } = 0.5;

    [Option("Largest area share of an image kept by the training crop."), Range(0.05, 1.0)]
    public double CropMaxScale { get; set; } = 1.0;

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in base.Validate(validationContext))
        {
            yield return result;
        }

        if (CropMinScale > CropMaxScale)
        {
            yield return new ValidationResult($"crop_min_scale {CropMinScale} is above crop_max_scale {CropMaxScale}", [nameof(CropMinScale)]);
        }

        if (MinAnswerLength >= MaxAnswerLength)
        {
            yield return new ValidationResult(
                $"min_answer_length {MinAnswerLength} leaves no room below max_answer_length {MaxAnswerLength}; lower min_answer_length", [nameof(MinAnswerLength)]);
        }
    }
}
