using Trainer.Worker.Blip;
using static TorchSharp.torch;

namespace Trainer.Worker.Training;

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
/// BLIP's retrieval evaluation (LAVIS <c>compute_sim_matrix</c>): ITC similarity of every image with every caption; for
/// each query its top-k candidates by ITC are re-scored with ITM (match logit + ITC similarity), the rest scored −100;
/// recall@1/5/10 for image→text (any of the image's captions counts) and text→image.
/// </summary>
public static class BlipRetrievalEvaluation
{
    private const double Unranked = -100.0;

    /// <summary>Evaluates <paramref name="model"/> on <paramref name="pairs"/> (pairs of one image share its id), in eval mode.</summary>
    public static RetrievalMetrics Evaluate(BlipPretrainModel model, IEnumerable<BlipPretrainBatch> pairs, int topK)
    {
        var wasTraining = model.training;
        model.eval();
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
            var similarity = stack(imageFeats).matmul(stack(textFeats).t());           // (NI, NT)

            var imageToText = Rescore(similarity, topK, (image, candidates) =>
                model.MatchScore(
                    allTextIds.index_select(0, candidates), allTextMasks.index_select(0, candidates),
                    allImageEmbeds[image].unsqueeze(0).expand(candidates.shape[0], -1, -1)));
            var textToImage = Rescore(similarity.t(), topK, (text, candidates) =>
                model.MatchScore(
                    allTextIds[text].unsqueeze(0).expand(candidates.shape[0], -1), allTextMasks[text].unsqueeze(0).expand(candidates.shape[0], -1),
                    allImageEmbeds.index_select(0, candidates)));

            var i2t = Recall(imageToText, query => candidate => textImage[candidate] == imageIds[query]);
            var t2i = Recall(textToImage, query => candidate => imageIds[candidate] == textImage[query]);
            return new RetrievalMetrics(i2t[0], i2t[1], i2t[2], t2i[0], t2i[1], t2i[2], imageIds.Count, textImage.Count);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>Scores (queries, candidates): ITM + ITC for each query's top-k by ITC, <see cref="Unranked"/> elsewhere.</summary>
    private static double[][] Rescore(Tensor similarity, int topK, Func<long, Tensor, Tensor> matchScore)
    {
        var k = (int)Math.Min(topK, similarity.shape[1]);
        var scores = new double[similarity.shape[0]][];
        for (long query = 0; query < similarity.shape[0]; query++)
        {
            using var scope = NewDisposeScope();
            var (values, candidates) = similarity[query].topk(k);
            var rescored = (matchScore(query, candidates) + values).to_type(float64).data<double>().ToArray();
            var indices = candidates.data<long>().ToArray();
            var row = Enumerable.Repeat(Unranked, (int)similarity.shape[1]).ToArray();
            for (var i = 0; i < k; i++)
            {
                row[indices[i]] = rescored[i];
            }

            scores[query] = row;
        }

        return scores;
    }

    /// <summary>Recall at 1, 5 and 10: the rank of the best-placed correct candidate, by descending score (ties by index).</summary>
    private static double[] Recall(double[][] scores, Func<int, Func<int, bool>> isCorrect)
    {
        int[] cutoffs = [1, 5, 10];
        var hits = new int[cutoffs.Length];
        for (var query = 0; query < scores.Length; query++)
        {
            var correct = isCorrect(query);
            var order = Enumerable.Range(0, scores[query].Length).OrderByDescending(candidate => scores[query][candidate]).ThenBy(candidate => candidate);
            var rank = order.Select((candidate, position) => (candidate, position)).First(entry => correct(entry.candidate)).position;
            for (var c = 0; c < cutoffs.Length; c++)
            {
                hits[c] += rank < cutoffs[c] ? 1 : 0;
            }
        }

        return [.. hits.Select(hit => (double)hit / scores.Length)];
    }
}
