using TorchSharp;
using TorchSharp.Modules;
using VisionLanguage.Models.Med;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// Image-text matching (LAVIS "ITM"): the image-grounded text encoder ([ENC] first) and a two-way head decide whether a
/// caption fits an image; trained on each positive pair and on a hard negative image per text and text per image
/// drawn from the in-batch similarities, optionally with captions of one word swapped as extra negatives. A component
/// of the models that train or score ITM; they own <c>text_encoder</c> and <c>itm_head</c> and hand them in.
/// </summary>
public sealed class ImageTextMatching(
    BertModel textEncoder, Linear itmHead, BlipSpecialTokens tokens, Generator randomness, BlipModelConfig config, CaptionSwaps? captionSwaps)
{
    /// <summary>ITM on positives, then on a hard negative image per text and text per image.</summary>
    public Tensor Loss(BlipPretrainBatch batch, Tensor imageEmbeds, Tensor simI2T, Tensor simT2I)
    {
        var size = batch.Size;
        var encoderIds = WithFirstToken(batch.TextIds, tokens.EncId);                                         // (B, L), [ENC] first
        var positive = textEncoder.call(encoderIds, batch.TextMask, imageEmbeds);                            // (B, L, Dt)
        var (negativeImage, negativeText) = BlipObjectives.SampleHardNegatives(simI2T, simT2I, batch.ImageIds, randomness, config.ItmHardNegativeShare);
        var (negativeIds, negativeMask) = config.ItmSwapNegativeShare > 0
            ? SwappedNegatives(batch, negativeText, imageEmbeds)
            : (encoderIds.index_select(0, negativeText), batch.TextMask.index_select(0, negativeText));
        var textIdsAll = cat([encoderIds, negativeIds], dim: 0);                                               // (2B, L)
        var textMaskAll = cat([batch.TextMask, negativeMask], dim: 0);                                         // (2B, L)
        var imageEmbedsAll = cat([imageEmbeds.index_select(0, negativeImage), imageEmbeds], dim: 0);         // (2B, 1 + P, Dv)
        var negative = textEncoder.call(textIdsAll, textMaskAll, imageEmbedsAll);                            // (2B, L, Dt)
        var itmLogits = itmHead.call(cat([positive.select(1, 0), negative.select(1, 0)], dim: 0));            // (3B, 2)
        var itmLabels = cat([ones(size, dtype: int64, device: itmLogits.device), zeros(2L * size, dtype: int64, device: itmLogits.device)]);
        return nn.functional.cross_entropy(itmLogits, itmLabels);
    }

    /// <summary>ITM logit of "match" (B) for captions (with [CLS], replaced here by [ENC]) against image tokens.</summary>
    public Tensor MatchScore(Tensor textIds, Tensor textMask, Tensor imageEmbeds)
    {
        var hidden = textEncoder.call(WithFirstToken(textIds, tokens.EncId), textMask, imageEmbeds);
        return itmHead.call(hidden.select(1, 0)).select(1, 1);
    }

    /// <summary>ITM match probability (B): the softmax of the head over (no match, match), class 1.</summary>
    public Tensor MatchProbability(Tensor textIds, Tensor textMask, Tensor imageEmbeds)
    {
        var hidden = textEncoder.call(WithFirstToken(textIds, tokens.EncId), textMask, imageEmbeds);
        return itmHead.call(hidden.select(1, 0)).softmax(-1).select(1, 1);
    }

    /// <summary><paramref name="ids"/> with their first token (the [CLS] of the tokenizer) replaced by <paramref name="token"/>.</summary>
    public static Tensor WithFirstToken(Tensor ids, long token)
    {
        var replaced = ids.clone();
        using var value = token.ToScalar();
        replaced.select(1, 0).fill_(value);
        return replaced;
    }

    /// <summary>Each image's negative caption, its own with one word swapped for <see cref="BlipModelConfig.ItmSwapNegativeShare"/> of them, [ENC] first.</summary>
    private (Tensor Ids, Tensor Mask) SwappedNegatives(BlipPretrainBatch batch, Tensor negativeText, Tensor imageEmbeds)
    {
        var swaps = captionSwaps ?? throw new InvalidOperationException(
            $"ItmSwapNegativeShare is {config.ItmSwapNegativeShare}, but the model was built without caption swaps; learn them from the training captions (CaptionSwaps.Learn)");
        var draws = rand([batch.Size, 3], dtype: float64, device: CPU, generator: randomness);
        var (ids, mask, swapped) = BlipObjectives.NegativeTexts(batch.TextIds, batch.TextMask, negativeText, draws, swaps, config.ItmSwapNegativeShare);
        if (config.ItmSwapCandidates > 1 && swapped.Length > 0)
        {
            ids = HardestSwaps(batch, ids, swapped, imageEmbeds, swaps);
        }

        return (WithFirstToken(ids, tokens.EncId), mask);
    }

    /// <summary>
    /// <paramref name="negativeIds"/> with each swapped row replaced by the likeliest match, to the ITM head, of
    /// <see cref="BlipModelConfig.ItmSwapCandidates"/> swaps of its caption (the one already drawn and more): hard
    /// negatives among the swaps, as BLIP draws its in-batch negatives by similarity. Swaps the model already rejects
    /// from the text alone or at a glance (a plural after "a", another colour) give way to those it cannot yet check.
    /// Scored without gradients and in evaluation mode, so the scores are the model's own and dropout's generator draws
    /// nothing for them; the extra swaps are drawn from the model's generator, which a checkpoint holds.
    /// </summary>
    private Tensor HardestSwaps(BlipPretrainBatch batch, Tensor negativeIds, int[] swapped, Tensor imageEmbeds, CaptionSwaps swaps)
    {
        var count = config.ItmSwapCandidates;
        var device = negativeIds.device;
        var rows = tensor(swapped.Select(row => (long)row).ToArray(), device: device);
        var draws = rand([swapped.Length, 2 * (count - 1)], dtype: float64, device: CPU, generator: randomness);
        var candidates = cat([negativeIds.index_select(0, rows), BlipObjectives.SwapAlternatives(batch.TextIds, batch.TextMask, swapped, draws, swaps)], dim: 0); // (K·S, L)
        Tensor scores;
        using (no_grad())
        {
            var training = textEncoder.training;
            textEncoder.eval();
            scores = MatchProbability(candidates, batch.TextMask.index_select(0, rows).repeat(count, 1), imageEmbeds.detach().index_select(0, rows).repeat(count, 1, 1));
            textEncoder.train(training);
        }

        return negativeIds.index_copy(0, rows, BlipObjectives.Hardest(candidates, scores, swapped.Length));
    }
}
