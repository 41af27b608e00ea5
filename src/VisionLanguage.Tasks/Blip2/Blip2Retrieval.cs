using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2;

/// <summary>
/// A stage-1 Q-Former and its image encoder (frozen, or a retrieval finetune's own) as retrieval evaluation asks for them (LAVIS <c>compute_sim_matrix</c>):
/// per-query image features ranked by their best query, and the ITM "match" logit averaged over the queries to re-rank.
/// </summary>
public sealed class Blip2Retrieval(Blip2Stage1Model model, Func<Tensor, Tensor> encodeImages) : IImageTextRetrieval
{
    public bool IsTraining => model.training;

    public void SetTraining(bool training) => model.SetTraining(training);

    public (Tensor Embeds, Tensor Feature) EncodeImage(Tensor images)
    {
        using var scope = NewDisposeScope();
        var tokens = encodeImages(images);
        var features = model.ImageFeatures(tokens);
        return (tokens.MoveToOuterDisposeScope(), features.MoveToOuterDisposeScope());
    }

    public Tensor EncodeText(Tensor textIds, Tensor textMask) => model.TextFeature(textIds, textMask);

    public Tensor MatchScore(Tensor textIds, Tensor textMask, Tensor imageEmbeds) => model.MatchScore(imageEmbeds, textIds, textMask);
}
