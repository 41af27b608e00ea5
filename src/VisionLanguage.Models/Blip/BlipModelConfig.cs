using VisionLanguage.Models.Med;
using VisionLanguage.Models.Vit;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// The shape and objectives of a BLIP pretraining model (LAVIS <c>blip_pretrain</c>). The defaults are the base model;
/// presets are data (<see cref="BlipPresets"/>); the worker maps a stage's options onto this record.
/// </summary>
public sealed record BlipModelConfig
{
    /// <summary>The image encoder, ViT-B/16 at 224 pixels by default.</summary>
    public VitConfig Vision { get; init; } = new();

    /// <summary>The MED text transformer, BERT-base by default; its cross-attention reads <see cref="Vision"/>'s width.</summary>
    public MedConfig Text { get; init; } = new();

    /// <summary>Width of the shared ITC space (vision_proj, text_proj); 256 in BLIP.</summary>
    public int EmbedDim { get; init; } = 256;

    /// <summary>Features in each ITC queue (image_queue, text_queue); 57,600 in BLIP pretraining.</summary>
    public int QueueSize { get; init; } = 57_600;

    /// <summary>Momentum m of the momentum encoders: θ_m ← m·θ_m + (1 − m)·θ.</summary>
    public double Momentum { get; init; } = 0.995;

    /// <summary>Initial ITC temperature (the learnable <c>temp</c>), clamped to [0.001, 0.5] before every step.</summary>
    public double Temperature { get; init; } = 0.07;

    /// <summary>
    /// Share of ITM negatives drawn by ITC similarity; the rest are drawn uniformly from the batch's other images.
    /// 1 in BLIP. A model trained from scratch learns ITM only with easier negatives mixed in (docs/decisions/blip-pretraining.md).
    /// </summary>
    public double ItmHardNegativeShare { get; init; } = 1.0;

    /// <summary>
    /// Share of images whose ITM negative caption is their own with one word swapped (<see cref="CaptionSwaps"/>)
    /// instead of another caption of the batch. 0 in BLIP; an addition for data whose captions differ in single words
    /// (docs/decisions/capfilt.md).
    /// </summary>
    public double ItmSwapNegativeShare { get; init; }

    /// <summary>
    /// One-word swaps drawn per swapped negative; the ITM head, in evaluation mode and without gradients, keeps the one
    /// it scores highest. 1 draws a single swap. An addition to BLIP (docs/decisions/capfilt.md).
    /// </summary>
    public int ItmSwapCandidates { get; init; } = 1;

    /// <summary>Label smoothing of the LM loss; LAVIS hard-codes 0.1 in BertLMHeadModel.</summary>
    public double LabelSmoothing { get; init; } = 0.1;

    /// <summary>
    /// Peak weight of ITC's momentum-distillation targets (LAVIS alpha, 0.4), ramped up linearly over the first epoch;
    /// models without ITC ignore it.
    /// </summary>
    public double Alpha { get; init; } = 0.4;

    /// <summary><see cref="Alpha"/> at <paramref name="step"/>: alpha × min(1, steps taken / steps per epoch), as LAVIS ramps it.</summary>
    public double RampedAlpha(TrainingStep step) => Alpha * Math.Min(1.0, (double)step.Step / step.StepsPerEpoch);

    /// <summary>Throws unless the text transformer's cross-attention reads the ViT's width.</summary>
    public void CheckWidths()
    {
        if (Text.EncoderWidth != Vision.Width)
        {
            throw new ArgumentException(
                $"the text transformer's cross-attention reads width {Text.EncoderWidth}, but the ViT's width is {Vision.Width}; make them equal");
        }
    }
}
