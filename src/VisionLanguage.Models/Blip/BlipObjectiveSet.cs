namespace VisionLanguage.Models.Blip;

/// <summary>
/// Which of BLIP's objectives a model trains. Pretraining trains all three; the caption finetune only LM (LAVIS
/// <c>blip_caption</c>), the retrieval finetune ITC and ITM (LAVIS <c>blip_retrieval</c>). A disabled objective is not
/// computed at all, and parameters that only it reaches are frozen.
/// </summary>
[Flags]
public enum BlipObjectiveSet
{
    /// <summary>Image-text contrastive learning with momentum distillation and the feature queues.</summary>
    Itc = 1,

    /// <summary>Image-text matching with hard negatives.</summary>
    Itm = 2,

    /// <summary>Language modelling by the image-grounded decoder.</summary>
    Lm = 4,

    /// <summary>Pretraining: ITC + ITM + LM.</summary>
    All = Itc | Itm | Lm,
}
