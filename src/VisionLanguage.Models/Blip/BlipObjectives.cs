using TorchSharp;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip;

/// <summary>The similarity of a batch and the ITC loss computed from it (LAVIS <c>BlipSimilarity</c> and <c>loss_itc</c>).</summary>
/// <param name="Loss">(loss_i2t + loss_t2i) / 2.</param>
/// <param name="SimI2T">Image-to-text similarity (B, B + queue) over the batch's momentum text features, then the queue.</param>
/// <param name="SimT2I">Text-to-image similarity (B, B + queue).</param>
public sealed record ContrastiveResult(Tensor Loss, Tensor SimI2T, Tensor SimT2I);

/// <summary>The pieces of BLIP's objectives that are worth testing on their own.</summary>
public static class BlipObjectives
{
    /// <summary>Added to every draw weight of an ITM negative, as in LAVIS, so a pair of similarity 0 can still be drawn.</summary>
    private static readonly Scalar DrawFloor = 1e-4.ToScalar();

    /// <summary>
    /// ITC with momentum distillation (LAVIS <c>BlipPretrain.forward</c>, "ITC"): similarities of the online features
    /// against the momentum features of the batch followed by the queue, each divided by <paramref name="temperature"/>;
    /// targets are <paramref name="alpha"/> × softmax of the momentum similarities plus (1 − alpha) × the one-hot
    /// diagonal; the loss is the mean soft cross-entropy, averaged over both directions.
    /// </summary>
    /// <param name="imageFeat">Online image features (B, E), normalised.</param>
    /// <param name="textFeat">Online text features (B, E), normalised.</param>
    /// <param name="imageFeatM">Momentum image features (B, E), normalised.</param>
    /// <param name="textFeatM">Momentum text features (B, E), normalised.</param>
    /// <param name="imageQueue">Earlier momentum image features (E, Q).</param>
    /// <param name="textQueue">Earlier momentum text features (E, Q).</param>
    /// <param name="temperature">The learnable temperature, a scalar.</param>
    /// <param name="alpha">Weight of the soft targets, already ramped.</param>
    public static ContrastiveResult Contrastive(
        Tensor imageFeat, Tensor textFeat, Tensor imageFeatM, Tensor textFeatM,
        Tensor imageQueue, Tensor textQueue, Tensor temperature, double alpha)
    {
        using var scope = NewDisposeScope();
        var batch = imageFeat.shape[0];
        Tensor imageFeatAll, textFeatAll, i2tTargets, t2iTargets;
        using (no_grad())
        {
            imageFeatAll = cat([imageFeatM.t(), imageQueue], dim: 1);            // (E, B + Q)
            textFeatAll = cat([textFeatM.t(), textQueue], dim: 1);               // (E, B + Q)
            var simI2TM = imageFeatM.matmul(textFeatAll) / temperature;          // (B, B + Q)
            var simT2IM = textFeatM.matmul(imageFeatAll) / temperature;          // (B, B + Q)
            var hardTargets = eye(batch, simI2TM.shape[1], dtype: simI2TM.dtype, device: simI2TM.device);
            using var softShare = alpha.ToScalar();
            using var hardShare = (1 - alpha).ToScalar();
            i2tTargets = simI2TM.softmax(1).mul(softShare).Plus(hardTargets.mul(hardShare));
            t2iTargets = simT2IM.softmax(1).mul(softShare).Plus(hardTargets.mul(hardShare));
        }

        var simI2T = imageFeat.matmul(textFeatAll) / temperature;                // (B, B + Q)
        var simT2I = textFeat.matmul(imageFeatAll) / temperature;                // (B, B + Q)
        var lossI2T = -(simI2T.log_softmax(1) * i2tTargets).sum(1).mean();
        var lossT2I = -(simT2I.log_softmax(1) * t2iTargets).sum(1).mean();
        var loss = lossI2T.Plus(lossT2I).div(RootedScalars.Two);
        return new ContrastiveResult(loss.MoveToOuterDisposeScope(), simI2T.MoveToOuterDisposeScope(), simT2I.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// ITM hard negatives (LAVIS, with BLIP retrieval's same-image mask): for each text an image, and for each image a
    /// text, drawn with probability softmax(similarity) + 1e-4 over the batch, never a pair that shares an image id
    /// (the positive included).
    /// </summary>
    /// <param name="simI2T">In-batch image-to-text similarity (B, B).</param>
    /// <param name="simT2I">In-batch text-to-image similarity (B, B).</param>
    /// <param name="imageIds">Image id of each pair.</param>
    /// <param name="generator">The draws' source of randomness.</param>
    /// <param name="hardShare">
    /// Weight of the similarity distribution in the draw; the rest is uniform over the allowed pairs. 1 (BLIP) draws
    /// by similarity only; 0 draws uniformly.
    /// </param>
    /// <returns>Index (B) of the negative image of each text and of the negative text of each image.</returns>
    public static (Tensor NegativeImageOfText, Tensor NegativeTextOfImage) SampleHardNegatives(
        Tensor simI2T, Tensor simT2I, IReadOnlyList<long> imageIds, Generator generator, double hardShare = 1.0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hardShare, 0.0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hardShare, 1.0);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = tensor(imageIds.ToArray(), device: simI2T.device);
        var sameImage = ids.unsqueeze(1).eq(ids.unsqueeze(0));                   // (B, B)
        if (sameImage.all(1).any().item<bool>())
        {
            throw new InvalidOperationException(
                $"a batch of {imageIds.Count} pairs shows a single image ({imageIds[0]}), so ITM has no negative to draw; " +
                "batches need at least two distinct images (shuffle the data, or raise batch_size)");
        }

        var weightsT2I = Mix(simT2I.softmax(1), hardShare).Plus(DrawFloor).masked_fill_(sameImage, RootedScalars.Zero);
        var weightsI2T = Mix(simI2T.softmax(1), hardShare).Plus(DrawFloor).masked_fill_(sameImage, RootedScalars.Zero);
        var negativeImage = DeviceRandom.Multinomial(weightsT2I, 1, generator).squeeze(1); // (B)
        var negativeText = DeviceRandom.Multinomial(weightsI2T, 1, generator).squeeze(1);  // (B)
        return (negativeImage.MoveToOuterDisposeScope(), negativeText.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The ITM negative caption of each image: the batch's caption <paramref name="negativeText"/> names or, for images
    /// whose first draw falls below <paramref name="swapShare"/>, the image's own caption with one word swapped by
    /// <paramref name="swaps"/> (an image whose caption has no swappable word keeps the drawn caption).
    /// </summary>
    /// <param name="textIds">Caption ids (B, L), int64.</param>
    /// <param name="textMask">Attention mask (B, L), int64; a swap keeps the caption's length, so its mask too.</param>
    /// <param name="negativeText">Index (B) of each image's in-batch negative caption.</param>
    /// <param name="draws">Uniform draws in [0, 1), (B, 3): whether to swap, which position, which word.</param>
    /// <param name="swaps">The one-word edits learnt from the training captions.</param>
    /// <param name="swapShare">Share of images whose negative is swapped, in [0, 1].</param>
    /// <returns>The negative captions' ids and masks (B, L) on <paramref name="textIds"/>' device, and the rows swapped, in order.</returns>
    public static (Tensor Ids, Tensor Mask, int[] SwappedRows) NegativeTexts(
        Tensor textIds, Tensor textMask, Tensor negativeText, Tensor draws, CaptionSwaps swaps, double swapShare)
    {
        using var scope = NewDisposeScope();
        var size = (int)textIds.shape[0];
        var length = (int)textIds.shape[1];
        var ids = Read<long>(textIds);
        var mask = Read<long>(textMask);
        var drawn = Read<long>(negativeText);
        var u = Read<double>(draws.to_type(ScalarType.Float64));
        var negativeIds = new long[ids.Length];
        var negativeMask = new long[mask.Length];
        var swapped = new List<int>();
        for (var i = 0; i < size; i++)
        {
            var target = negativeIds.AsSpan(i * length, length);
            if (u[3 * i] < swapShare)
            {
                ids.AsSpan(i * length, length).CopyTo(target);
                var tokens = mask.AsSpan(i * length, length).Count(1L);
                if (swaps.TrySwap(target, tokens, u[(3 * i) + 1], u[(3 * i) + 2]))
                {
                    swapped.Add(i);
                    mask.AsSpan(i * length, length).CopyTo(negativeMask.AsSpan(i * length, length));
                    continue;
                }
            }

            var source = (int)drawn[i];
            ids.AsSpan(source * length, length).CopyTo(target);
            mask.AsSpan(source * length, length).CopyTo(negativeMask.AsSpan(i * length, length));
        }

        var device = textIds.device;
        return (tensor(negativeIds, [size, length], device: device).MoveToOuterDisposeScope(),
            tensor(negativeMask, [size, length], device: device).MoveToOuterDisposeScope(), [.. swapped]);
    }

    /// <summary>
    /// More one-word swaps of the captions in <paramref name="rows"/>, each made from the caption itself: candidate j
    /// of row s uses draws (s, 2j) for the position and (s, 2j + 1) for the word, as in <see cref="CaptionSwaps.TrySwap"/>.
    /// Every row must have a swappable word (the rows <see cref="NegativeTexts"/> swapped do).
    /// </summary>
    /// <param name="textIds">Caption ids (B, L), int64.</param>
    /// <param name="textMask">Attention mask (B, L), int64.</param>
    /// <param name="rows">The rows to swap, S of them.</param>
    /// <param name="draws">Uniform draws in [0, 1), (S, 2 × candidates).</param>
    /// <param name="swaps">The one-word edits learnt from the training captions.</param>
    /// <returns>Ids (candidates × S, L), candidate by candidate: row j × S + s is candidate j of <paramref name="rows"/>[s].</returns>
    public static Tensor SwapAlternatives(Tensor textIds, Tensor textMask, IReadOnlyList<int> rows, Tensor draws, CaptionSwaps swaps)
    {
        using var scope = NewDisposeScope();
        var length = (int)textIds.shape[1];
        var candidates = (int)draws.shape[1] / 2;
        var ids = Read<long>(textIds);
        var mask = Read<long>(textMask);
        var u = Read<double>(draws.to_type(ScalarType.Float64));
        var alternatives = new long[candidates * rows.Count * length];
        for (var j = 0; j < candidates; j++)
        {
            for (var s = 0; s < rows.Count; s++)
            {
                var caption = ids.AsSpan(rows[s] * length, length);
                var target = alternatives.AsSpan(((j * rows.Count) + s) * length, length);
                caption.CopyTo(target);
                var tokens = mask.AsSpan(rows[s] * length, length).Count(1L);
                var draw = (s * 2 * candidates) + (2 * j);
                if (!swaps.TrySwap(target, tokens, u[draw], u[draw + 1]))
                {
                    throw new ArgumentException($"row {rows[s]} of the batch has no swappable word", nameof(rows));
                }
            }
        }

        return tensor(alternatives, [candidates * rows.Count, length], device: textIds.device).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// For each of <paramref name="rows"/> rows, its candidate with the highest score (the first of equals): the likeliest
    /// match is the hardest negative.
    /// </summary>
    /// <param name="candidates">Candidates (K × S, L), candidate by candidate: row j × S + s is candidate j of row s.</param>
    /// <param name="scores">Each candidate's score (K × S).</param>
    /// <param name="rows">S, the number of rows.</param>
    /// <returns>The chosen candidates (S, L).</returns>
    public static Tensor Hardest(Tensor candidates, Tensor scores, int rows)
    {
        using var scope = NewDisposeScope();
        var best = Read<long>(scores.view(-1, rows).argmax(0));
        var picks = tensor(best.Select((candidate, row) => (candidate * rows) + row).ToArray(), device: candidates.device);
        return candidates.index_select(0, picks).MoveToOuterDisposeScope();
    }

    private static T[] Read<T>(Tensor values)
        where T : unmanaged
    {
        // Within the caller's dispose scope, which frees the copies (detach always makes a new handle, so never the input).
        return values.detach().cpu().contiguous().data<T>().ToArray();
    }

    /// <summary><paramref name="hardShare"/> × <paramref name="similarity"/> + the rest spread evenly over each row; unchanged at 1.</summary>
    private static Tensor Mix(Tensor similarity, double hardShare)
    {
        if (hardShare >= 1.0)
        {
            return similarity;
        }

        using var share = hardShare.ToScalar();
        using var spread = ((1.0 - hardShare) / similarity.shape[1]).ToScalar();
        return similarity.mul(share).Plus(spread);
    }

    /// <summary>
    /// LM loss (LAVIS <c>BertLMHeadModel</c>): logits at positions 0 … L−2 predict the tokens at 1 … L−1; padding and
    /// the first <paramref name="promptLength"/> positions are ignored; cross-entropy with label smoothing, averaged over
    /// the predicted tokens.
    /// </summary>
    /// <param name="logits">Decoder logits (B, L, V).</param>
    /// <param name="decoderIds">Decoder input ids (B, L), [DEC] first.</param>
    /// <param name="mask">Attention mask (B, L).</param>
    /// <param name="labelSmoothing">Label smoothing, 0.1 in BLIP.</param>
    /// <param name="promptLength">
    /// Leading positions that are not targets: [DEC] and a prompt's tokens (LAVIS <c>blip_caption</c> sets
    /// <c>decoder_targets[:, :prompt_length] = -100</c>); 0 in pretraining.
    /// </param>
    public static Tensor LanguageModelling(Tensor logits, Tensor decoderIds, Tensor mask, double labelSmoothing, int promptLength = 0)
    {
        using var scope = NewDisposeScope();
        var targets = decoderIds.masked_fill(mask.eq(RootedScalars.Zero), RootedScalars.IgnoredLabel); // (B, L)
        if (promptLength > 0)
        {
            targets.narrow(1, 0, Math.Min(promptLength, targets.shape[1])).fill_(RootedScalars.IgnoredLabel);
        }

        var vocab = logits.shape[2];
        var predicted = logits.narrow(1, 0, logits.shape[1] - 1).reshape(-1, vocab);   // (B·(L−1), V)
        var shifted = targets.narrow(1, 1, targets.shape[1] - 1).reshape(-1);          // (B·(L−1))
        return nn.functional.cross_entropy(predicted, shifted, ignore_index: -100, label_smoothing: labelSmoothing)
            .MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The LM loss of each sequence (LAVIS <c>BertLMHeadModel</c> with <c>reduction="none"</c>): the label-smoothed
    /// cross-entropy of every predicted token (positions 1 … L−1 that are not padding) summed per sequence, (B). BLIP's VQA
    /// weights each answer's loss by its annotator share, and ranks candidate answers by its negation.
    /// </summary>
    /// <param name="logits">Decoder logits (B, L, V).</param>
    /// <param name="decoderIds">Decoder input ids (B, L), [DEC] first.</param>
    /// <param name="mask">Attention mask (B, L).</param>
    /// <param name="labelSmoothing">Label smoothing, 0.1 in BLIP.</param>
    public static Tensor LanguageModellingPerSequence(Tensor logits, Tensor decoderIds, Tensor mask, double labelSmoothing)
    {
        using var scope = NewDisposeScope();
        var targets = decoderIds.masked_fill(mask.eq(RootedScalars.Zero), RootedScalars.IgnoredLabel); // (B, L)
        var (rows, length, vocab) = (logits.shape[0], logits.shape[1], logits.shape[2]);
        var predicted = logits.narrow(1, 0, length - 1).reshape(-1, vocab);          // (B·(L−1), V)
        var shifted = targets.narrow(1, 1, length - 1).reshape(-1);                  // (B·(L−1))
        var perToken = nn.functional.cross_entropy(
            predicted, shifted, ignore_index: -100, reduction: nn.Reduction.None, label_smoothing: labelSmoothing); // (B·(L−1)), 0 where ignored
        return perToken.view(rows, length - 1).sum(1).MoveToOuterDisposeScope();   // (B)
    }
}
