using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>The options of the kinds that train ITC (momentum distillation, feature queue) and ITM (hard negatives): pretraining and the retrieval finetune.</summary>
public abstract class BlipContrastiveOptions : TrainingOptions
{
    [Option("ITC feature queue length; the global batch must divide it."), Range(1, 1_000_000)]
    public int QueueSize { get; set; } = 256;

    [Option("Momentum of the momentum encoders."), Range(0.0, 1.0)]
    public double Momentum { get; set; } = 0.995;

    [Option("Weight of the momentum-distillation soft targets (ramped up over the first epoch)."), Range(0.0, 1.0)]
    public double Alpha { get; set; } = 0.4;

    [Option("Initial ITC temperature (learnable, clamped)."), Range(0.001, 0.5)]
    public double Temperature { get; set; } = 0.07;

    [Option("Share of ITM negatives drawn by ITC similarity (hard negatives, as in BLIP: 1); the rest are drawn uniformly from the batch's other images."), Range(0.0, 1.0)]
    public double ItmHardNegativeShare { get; set; } = 1.0;

    [Option("Share of images whose ITM negative caption is their own with one word replaced by another word the training captions use between the same two neighbours (\"a red circle\" → \"a blue circle\"); the rest are drawn from the batch. 0 in BLIP; raise it when captions differ in single words the filter must check."), Range(0.0, 1.0)]
    public double ItmSwapNegativeShare { get; set; }

    [Option("One-word swaps drawn for each swapped negative caption; the ITM head keeps the one it scores as the likeliest match, so training dwells on the words it cannot yet check in the image. 1 keeps a single uniform swap."), Range(1, 16)]
    public int ItmSwapCandidates { get; set; } = 1;

    [Option("Smallest area share kept by random-resized-crop."), Range(0.05, 1.0)]
    public double CropMinScale { get; set; } = 0.5;

    [Option("Largest area share kept by random-resized-crop."), Range(0.05, 1.0)]
    public double CropMaxScale { get; set; } = 1.0;

    [Option("Random horizontal flips during training.")]
    public bool HorizontalFlip { get; set; }

    [Option("Candidates from ITC re-ranked by ITM in retrieval evaluation."), Range(1, 1024)]
    public int EvalTopK { get; set; } = 16;

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in base.Validate(validationContext))
        {
            yield return result;
        }

        if (QueueSize % BatchSize != 0)
        {
            yield return new ValidationResult(
                $"batch_size {BatchSize} must divide queue_size {QueueSize}; e.g. queue_size {QueueSize / BatchSize * BatchSize + BatchSize}",
                [nameof(QueueSize)]);
        }

        if (ItmSwapCandidates > 1 && ItmSwapNegativeShare <= 0)
        {
            yield return new ValidationResult(
                $"itm_swap_candidates is {ItmSwapCandidates}, but itm_swap_negative_share is 0, so no caption is swapped; raise itm_swap_negative_share or set itm_swap_candidates to 1",
                [nameof(ItmSwapCandidates)]);
        }

        if (CropMinScale > CropMaxScale)
        {
            yield return new ValidationResult(
                $"crop_min_scale {CropMinScale} is above crop_max_scale {CropMaxScale}", [nameof(CropMinScale)]);
        }
    }
}
