using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>
/// Options of <c>blip.pretrain</c>: ITC with momentum distillation and a feature queue, ITM with hard negatives, LM. The
/// one BLIP kind that builds its model from scratch, so the one with the model's shape (set by the preset).
/// </summary>
public sealed class BlipPretrainOptions : BlipContrastiveOptions
{
    [Option("ViT patch side, in pixels; must divide image_size."), Range(1, 64)]
    public int PatchSize { get; set; } = 8;

    [Option("ViT width."), Range(8, 4096)]
    public int VisionWidth { get; set; } = 64;

    [Option("ViT blocks."), Range(1, 64)]
    public int VisionDepth { get; set; } = 2;

    [Option("Text transformer width."), Range(8, 4096)]
    public int TextWidth { get; set; } = 64;

    [Option("Text transformer layers."), Range(1, 64)]
    public int TextLayers { get; set; } = 2;

    [Option("ViT attention heads; must divide vision_width."), Range(1, 64)]
    public int VisionHeads { get; set; } = 4;

    [Option("Text attention heads; must divide text_width."), Range(1, 64)]
    public int TextHeads { get; set; } = 4;

    [Option("Shared embedding width of the contrastive (ITC) space."), Range(8, 4096)]
    public int EmbedDim { get; set; } = 32;

    [Option("Label smoothing of the LM loss."), Range(0.0, 0.5)]
    public double LabelSmoothing { get; set; } = 0.1;

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in base.Validate(validationContext))
        {
            yield return result;
        }

        if (ImageSize % PatchSize != 0)
        {
            yield return new ValidationResult(
                $"patch_size {PatchSize} must divide image_size {ImageSize}; pick sizes such as 224 and 16", [nameof(PatchSize)]);
        }

        if (VisionWidth % VisionHeads != 0)
        {
            yield return new ValidationResult(
                $"vision_heads {VisionHeads} must divide vision_width {VisionWidth}", [nameof(VisionHeads)]);
        }

        if (TextWidth % TextHeads != 0)
        {
            yield return new ValidationResult(
                $"text_heads {TextHeads} must divide text_width {TextWidth}", [nameof(TextHeads)]);
        }
    }
}
