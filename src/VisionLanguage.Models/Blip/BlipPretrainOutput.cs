using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// What one forward pass gives: the enabled objectives' losses and their sum (each a scalar with autograd history; a
/// disabled objective's loss is null), and, when ITC runs, the momentum features of the batch, which the caller gathers
/// across replicas and enqueues (<see cref="BlipPretrainModel.DequeueAndEnqueue"/>) once the step's forward passes are done.
/// </summary>
/// <param name="LossItc">Image-text contrastive loss against the momentum-distilled soft targets.</param>
/// <param name="LossItm">Image-text matching loss over positives and hard negatives.</param>
/// <param name="LossLm">Label-smoothed language-modelling loss of the image-grounded decoder.</param>
/// <param name="ImageFeatM">Momentum image features (B, embed_dim), normalised, without history; null without ITC.</param>
/// <param name="TextFeatM">Momentum text features (B, embed_dim), normalised, without history; null without ITC.</param>
public sealed record BlipPretrainOutput(Tensor? LossItc, Tensor? LossItm, Tensor? LossLm, Tensor? ImageFeatM, Tensor? TextFeatM)
{
    /// <summary>LossItc + LossItm + LossLm over the enabled ones, as in LAVIS (unweighted); the loss itself when one is enabled.</summary>
    public Tensor Loss { get; } = Total(LossItc, LossItm, LossLm);

    /// <summary>The enabled losses, in the order ITC, ITM, LM.</summary>
    public IReadOnlyList<Tensor> Losses => [.. new[] { LossItc, LossItm, LossLm }.OfType<Tensor>()];

    private static Tensor Total(params Tensor?[] losses)
    {
        var present = losses.OfType<Tensor>().ToList();
        if (present.Count == 0)
        {
            throw new ArgumentException("no objective was computed; enable at least one", nameof(losses));
        }

        var sum = present[0];
        for (var i = 1; i < present.Count; i++)
        {
            sum = sum.Plus(present[i]);
        }

        return sum;
    }
}
