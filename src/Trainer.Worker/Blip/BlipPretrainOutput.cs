using static TorchSharp.torch;

namespace Trainer.Worker.Blip;

/// <summary>
/// What one pretraining forward pass gives: the three losses and their sum (each a scalar with autograd history), and
/// the momentum features of the batch, which the caller gathers across replicas and enqueues
/// (<see cref="BlipPretrainModel.DequeueAndEnqueue"/>) once the step's forward passes are done.
/// </summary>
/// <param name="LossItc">Image-text contrastive loss against the momentum-distilled soft targets.</param>
/// <param name="LossItm">Image-text matching loss over positives and hard negatives.</param>
/// <param name="LossLm">Label-smoothed language-modelling loss of the image-grounded decoder.</param>
/// <param name="ImageFeatM">Momentum image features (B, embed_dim), normalised, without history.</param>
/// <param name="TextFeatM">Momentum text features (B, embed_dim), normalised, without history.</param>
public sealed record BlipPretrainOutput(Tensor LossItc, Tensor LossItm, Tensor LossLm, Tensor ImageFeatM, Tensor TextFeatM)
{
    /// <summary>LossItc + LossItm + LossLm, as in LAVIS (unweighted).</summary>
    public Tensor Loss { get; } = LossItc + LossItm + LossLm;
}
