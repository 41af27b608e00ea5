using VisionLanguage.Evaluation;
using VisionLanguage.Models.Blip;
using VisionLanguage.Tasks.Running;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Retrieval;

/// <summary>Zero-shot retrieval recall: the share of queries whose first correct answer ranks within 1, 5 and 10.</summary>
public sealed record RetrievalMetrics(
    double ImageToTextR1, double ImageToTextR5, double ImageToTextR10,
    double TextToImageR1, double TextToImageR5, double TextToImageR10,
    int Images, int Texts)
{
    public IReadOnlyDictionary<string, double> Metrics() => new Dictionary<string, double>
    {
        ["eval_i2t_r1"] = ImageToTextR1,
        ["eval_i2t_r5"] = ImageToTextR5,
        ["eval_i2t_r10"] = ImageToTextR10,
        ["eval_t2i_r1"] = TextToImageR1,
        ["eval_t2i_r5"] = TextToImageR5,
        ["eval_t2i_r10"] = TextToImageR10,
        ["eval_r_mean"] = (ImageToTextR1 + ImageToTextR5 + ImageToTextR10 + TextToImageR1 + TextToImageR5 + TextToImageR10) / 6,
    };
}

/// <summary>
/// BLIP's and BLIP-2's retrieval evaluation (LAVIS <c>compute_sim_matrix</c>): ITC similarity of every image with every caption (the best query's for BLIP-2); for
/// each query its top-k candidates by ITC are re-scored with ITM (match logit + ITC similarity), the rest scored −100
/// (<see cref="RetrievalRanking"/>);
/// recall@1/5/10 for image→text (any of the image's captions counts) and text→image.
/// </summary>
public static class BlipRetrievalEvaluation
{
    /// <summary>
    /// Evaluates <paramref name="model"/> on <paramref name="pairs"/> (pairs of one image share its id), in eval mode;
    /// <paramref name="pulse"/> beats per encoded batch and per re-ranked query.
    /// </summary>
    public static RetrievalMetrics Evaluate(IImageTextRetrieval model, IEnumerable<BlipPretrainBatch> pairs, int topK, TaskPulse pulse = default)
    {
        var wasTraining = model.IsTraining;
        model.SetTraining(false);
        var imageIds = new List<long>();
        var imageEmbeds = new List<Tensor>();
        var imageFeats = new List<Tensor>();
        var textImage = new List<long>();
        var textIds = new List<Tensor>();
        var textMasks = new List<Tensor>();
        var textFeats = new List<Tensor>();
        var seen = new HashSet<long>();
        using var evaluation = NewDisposeScope();
        try
        {
            using var noGrad = no_grad();
            foreach (var batch in pairs)
            {
                using var owned = batch;
                pulse.Beat();
                using var scope = NewDisposeScope();
                var (embeds, feature) = model.EncodeImage(batch.Images);
                var text = model.EncodeText(batch.TextIds, batch.TextMask);
                for (var row = 0; row < batch.Size; row++)
                {
                    if (seen.Add(batch.ImageIds[row]))
                    {
                        imageIds.Add(batch.ImageIds[row]);
                        imageEmbeds.Add(embeds[row].MoveToOuterDisposeScope());
                        imageFeats.Add(feature[row].MoveToOuterDisposeScope());
                    }

                    textImage.Add(batch.ImageIds[row]);
                    textIds.Add(batch.TextIds[row].MoveToOuterDisposeScope());
                    textMasks.Add(batch.TextMask[row].MoveToOuterDisposeScope());
                    textFeats.Add(text[row].MoveToOuterDisposeScope());
                }
            }

            if (imageIds.Count == 0)
            {
                throw new InvalidOperationException("the evaluation split is empty; bind a non-empty dataset to input 'eval'");
            }

            var allImageEmbeds = stack(imageEmbeds);                                   // (NI, 1 + P, Dv)
            var allTextIds = stack(textIds);                                           // (NT, L)
            var allTextMasks = stack(textMasks);                                       // (NT, L)
            var similarity = Similarity(stack(imageFeats), stack(textFeats));           // (NI, NT)

            var imageToText = RetrievalRanking.Rerank(Rows(similarity), topK, (image, candidates) => Scores(pulse, () =>
                model.MatchScore(
                    allTextIds.index_select(0, Indices(candidates, allTextIds.device)), allTextMasks.index_select(0, Indices(candidates, allTextMasks.device)),
                    allImageEmbeds[image].unsqueeze(0).expand(candidates.Length, -1, -1))));
            var textToImage = RetrievalRanking.Rerank(Rows(similarity.t()), topK, (text, candidates) => Scores(pulse, () =>
                model.MatchScore(
                    allTextIds[text].unsqueeze(0).expand(candidates.Length, -1), allTextMasks[text].unsqueeze(0).expand(candidates.Length, -1),
                    allImageEmbeds.index_select(0, Indices(candidates, allImageEmbeds.device)))));

            int[] cutoffs = [1, 5, 10];
            var i2t = RetrievalRanking.Recall(RetrievalRanking.Ranks(imageToText, (query, candidate) => textImage[candidate] == imageIds[query]), cutoffs);
            var t2i = RetrievalRanking.Recall(RetrievalRanking.Ranks(textToImage, (query, candidate) => imageIds[candidate] == textImage[query]), cutoffs);
            return new RetrievalMetrics(i2t[0], i2t[1], i2t[2], t2i[0], t2i[1], t2i[2], imageIds.Count, textImage.Count);
        }
        finally
        {
            model.SetTraining(wasTraining);
        }
    }

    /// <summary>
    /// ITC similarity (NI, NT) of image features (NI, E) with text features (NT, E); with one feature per query
    /// (NI, Q, E), the best query's (BLIP-2's <c>compute_sim_matrix</c>, no temperature).
    /// </summary>
    private static Tensor Similarity(Tensor images, Tensor texts) =>
        images.dim() == 3 ? einsum("iqe,te->itq", images, texts).amax(-1) : images.matmul(texts.t());

    private static double[][] Rows(Tensor matrix)
    {
        var values = matrix.to_type(float64).cpu().contiguous().data<double>().ToArray();
        var columns = (int)matrix.shape[1];
        return [.. Enumerable.Range(0, (int)matrix.shape[0]).Select(row => values.AsSpan(row * columns, columns).ToArray())];
    }

    private static Tensor Indices(int[] candidates, Device device) => tensor(candidates.Select(candidate => (long)candidate).ToArray(), device: device);

    /// <summary>The scores <paramref name="score"/> computes for one query, as doubles; its tensors are freed at once.</summary>
    private static double[] Scores(TaskPulse pulse, Func<Tensor> score)
    {
        pulse.Beat();
        using var scope = NewDisposeScope();
        return score().to_type(float64).cpu().data<double>().ToArray();
    }
}
