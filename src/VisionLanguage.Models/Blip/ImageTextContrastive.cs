using TorchSharp;
using TorchSharp.Modules;
using VisionLanguage.Models.Med;
using VisionLanguage.Models.Vit;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>ITC's result for a batch: the loss, the in-batch similarities (B, B) ITM draws negatives from, and the momentum features to enqueue.</summary>
public sealed record ContrastiveStep(Tensor Loss, Tensor SimI2T, Tensor SimT2I, Tensor ImageFeatM, Tensor TextFeatM);

/// <summary>
/// Image-text contrastive learning with momentum distillation (LAVIS <c>BlipPretrain</c> and <c>BlipRetrieval</c>, "ITC"):
/// unimodal image and text features, projected and normalised, against the momentum encoders' features of the batch
/// and the queues, at the learnt temperature. A component of the models that train ITC; they own the modules under
/// LAVIS's names and hand them in.
/// </summary>
public sealed class ImageTextContrastive(
    BertModel textEncoder, Linear visionProj, Linear textProj,
    VisionTransformer visualEncoderM, BertModel textEncoderM, Linear visionProjM, Linear textProjM,
    FeatureQueues queues, Parameter temperature)
{
    /// <summary>The range the learnt temperature is clamped to before each forward pass, as in LAVIS (0.001 to 0.5).</summary>
    private static readonly (Scalar Min, Scalar Max) TemperatureRange = (0.001.ToScalar(), 0.5.ToScalar());

    /// <summary>Clamps the temperature into its range; before every forward pass that uses it.</summary>
    public void ClampTemperature()
    {
        using (no_grad())
        {
            temperature.clamp_(TemperatureRange.Min, TemperatureRange.Max);
        }
    }

    /// <summary>ITC on <paramref name="batch"/>, whose image tokens are <paramref name="imageEmbeds"/> (B, 1 + P, Dv).</summary>
    public ContrastiveStep Compute(BlipPretrainBatch batch, Tensor imageEmbeds, double alpha)
    {
        var size = batch.Size;
        var imageFeat = nn.functional.normalize(visionProj.call(imageEmbeds.select(1, 0)), dim: -1);         // (B, E)
        var textEmbeds = textEncoder.call(batch.TextIds, batch.TextMask, null);                            // (B, L, Dt)
        var textFeat = nn.functional.normalize(textProj.call(textEmbeds.select(1, 0)), dim: -1);           // (B, E)
        Tensor imageFeatM, textFeatM;
        using (no_grad())
        {
            var imageEmbedsM = visualEncoderM.call(batch.Images);                                           // (B, 1 + P, Dv)
            imageFeatM = nn.functional.normalize(visionProjM.call(imageEmbedsM.select(1, 0)), dim: -1);      // (B, E)
            var textEmbedsM = textEncoderM.call(batch.TextIds, batch.TextMask, null);                      // (B, L, Dt)
            textFeatM = nn.functional.normalize(textProjM.call(textEmbedsM.select(1, 0)), dim: -1);        // (B, E)
        }

        var itc = BlipObjectives.Contrastive(imageFeat, textFeat, imageFeatM, textFeatM, queues.Image, queues.Text, temperature, alpha);
        return new ContrastiveStep(itc.Loss, itc.SimI2T.narrow(1, 0, size), itc.SimT2I.narrow(1, 0, size), imageFeatM, textFeatM);
    }

    /// <summary>Image tokens are given; the normalised ITC image feature (B, E) of them.</summary>
    public Tensor ImageFeature(Tensor imageEmbeds) => nn.functional.normalize(visionProj.call(imageEmbeds.select(1, 0)), dim: -1);

    /// <summary>The unimodal text encoder's normalised ITC feature (B, E) of captions [CLS] … [SEP].</summary>
    public Tensor TextFeature(Tensor textIds, Tensor textMask) =>
        nn.functional.normalize(textProj.call(textEncoder.call(textIds, textMask, null).select(1, 0)), dim: -1);
}
