using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// What one pretraining forward pass gives: the three losses and their sum (scalars with autograd history), and the
/// momentum features of the batch, which the caller gathers across replicas and enqueues once the step's backward is done.
/// </summary>
/// <param name="LossItc">Image-text contrastive loss against the momentum-distilled soft targets.</param>
/// <param name="LossItm">Image-text matching loss over positives and hard negatives.</param>
/// <param name="LossLm">Label-smoothed language-modelling loss of the image-grounded decoder.</param>
/// <param name="ImageFeatM">Momentum image features (B, embed_dim), normalised, without history.</param>
/// <param name="TextFeatM">Momentum text features (B, embed_dim), normalised, without history.</param>
public sealed record BlipPretrainOutput(Tensor LossItc, Tensor LossItm, Tensor LossLm, Tensor ImageFeatM, Tensor TextFeatM) : ITrainingOutput
{
    /// <summary>LossItc + LossItm + LossLm, as in LAVIS (unweighted).</summary>
    public Tensor Loss { get; } = LossItc.Plus(LossItm).Plus(LossLm);

    public IReadOnlyList<(string Objective, Tensor Loss)> NamedLosses => [("itc", LossItc), ("itm", LossItm), ("lm", LossLm)];

    public IReadOnlyList<Tensor> GatheredAfterBackward => [ImageFeatM, TextFeatM];
}

/// <summary>What one retrieval forward pass gives: ITC and ITM and their sum, and the momentum features to enqueue.</summary>
public sealed record BlipRetrievalOutput(Tensor LossItc, Tensor LossItm, Tensor ImageFeatM, Tensor TextFeatM) : ITrainingOutput
{
    /// <summary>LossItc + LossItm.</summary>
    public Tensor Loss { get; } = LossItc.Plus(LossItm);

    public IReadOnlyList<(string Objective, Tensor Loss)> NamedLosses => [("itc", LossItc), ("itm", LossItm)];

    public IReadOnlyList<Tensor> GatheredAfterBackward => [ImageFeatM, TextFeatM];
}

/// <summary>What one captioning forward pass gives: the language-modelling loss, which is the whole loss.</summary>
public sealed record BlipCaptionOutput(Tensor LossLm) : ITrainingOutput
{
    public Tensor Loss => LossLm;

    public IReadOnlyList<(string Objective, Tensor Loss)> NamedLosses => [("lm", LossLm)];

    public IReadOnlyList<Tensor> GatheredAfterBackward => [];
}
