using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>
/// Options of <c>blip2.stage1</c>: a Q-Former trained from scratch against the frozen image encoder of input
/// <c>image_encoder</c>, with ITC, ITM and ITG. Names follow LAVIS's config where it has one (<c>num_query_token</c>,
/// <c>cross_attention_freq</c>, <c>embed_dim</c>); the defaults are LAVIS's stage 1 (bert-base's 12 × 768, 32 queries).
/// </summary>
public sealed class Blip2Stage1Options : TrainingOptions
{
    [Option("Learned query tokens (LAVIS num_query_token)."), Range(1, 256)]
    public int NumQueryToken { get; set; } = 32;

    [Option("Layers 0, n, 2n, … of the Q-Former cross-attend to the image (LAVIS cross_attention_freq)."), Range(1, 48)]
    public int CrossAttentionFreq { get; set; } = 2;

    [Option("Width of the Q-Former (bert-base: 768); input text_init, when bound, decides it."), Range(8, 4096)]
    public int QformerWidth { get; set; } = 768;

    [Option("Layers of the Q-Former (bert-base: 12); input text_init, when bound, decides them."), Range(1, 48)]
    public int QformerLayers { get; set; } = 12;

    [Option("Attention heads of the Q-Former; they divide its width; input text_init, when bound, decides them."), Range(1, 64)]
    public int QformerHeads { get; set; } = 12;

    [Option("Width of the ITC embedding (LAVIS embed_dim)."), Range(1, 4096)]
    public int EmbedDim { get; set; } = 256;

    [Option("Initial ITC temperature; learnable and never clamped, as in BLIP-2."), Range(0.001, 1.0)]
    public double Temperature { get; set; } = 0.07;

    [Option("Label smoothing of ITC and ITG (ITM has none)."), Range(0.0, 0.5)]
    public double LabelSmoothing { get; set; } = 0.1;

    [Option("Weight of hard negatives in ITM's sampling: 1 (BLIP-2) draws every negative from ITC's similarities, 0 draws uniformly among the other images."), Range(0.0, 1.0)]
    public double ItmHardNegativeShare { get; set; } = 1.0;

    [Option("Which block of the frozen image encoder is read, counted from its end: -2 (BLIP-2) drops the last block, -1 reads every block."), Range(-64, -1)]
    public int VisionLayer { get; set; } = -2;

    [Option("compute runs the frozen encoder on every batch's augmented images (LAVIS); cache computes each image's features once, without augmentation, and reuses them across epochs, stages and reruns.")]
    public ImageFeatures ImageFeatures { get; set; } = ImageFeatures.Compute;

    [Option("Candidates from ITC re-ranked by ITM in retrieval evaluation (LAVIS k_test)."), Range(1, 1024)]
    public int EvalTopK { get; set; } = 128;

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var result in base.Validate(validationContext))
        {
            yield return result;
        }

        if (QformerWidth % QformerHeads != 0)
        {
            yield return new ValidationResult(
                $"qformer_heads {QformerHeads} does not divide qformer_width {QformerWidth}; pick a width that is a multiple of the heads",
                [nameof(QformerWidth), nameof(QformerHeads)]);
        }
    }
}
