using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>
/// Options of <c>blip.finetune.nlvr2</c>: the model's shape comes from the <c>init</c> checkpoint (the twin
/// cross-attentions from its cross-attention); what remains is training and the augmentation.
/// </summary>
public sealed class BlipNlvr2Options : TrainingOptions
{
    [Option("BLIP's augmentation: swap a training pair's two images with probability 1/2, and the words 'left' and 'right' of its statement with them.")]
    public bool SwapImages { get; set; } = true;

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
    }
}
