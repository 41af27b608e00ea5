using VisionLanguage.Data;
using VisionLanguage.Tasks.Running;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Capfilt;

/// <summary>
/// CapFilt's filter: scores image-caption pairs with the ITM match probability of a finetuned BLIP model (softmax of
/// the ITM head, class 1), in batches, without gradients.
/// </summary>
public sealed class CapfiltFilter(BlipCheckpointModel filter, int maxTextLength)
{
    private const int PairsPerBatch = 64;

    /// <summary>The side the filter's images are resized to.</summary>
    public int ImageSize => filter.Model.Config.Vision.ImageSize;

    /// <summary>
    /// The match probability of each pair: <paramref name="images"/> are (N, 3, S, S) at <see cref="ImageSize"/>, each
    /// pair names its image by row. <paramref name="pulse"/> beats per batch of pairs.
    /// </summary>
    public double[] Score(Tensor images, IReadOnlyList<(int ImageRow, string Caption)> pairs, TaskPulse pulse = default)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (embeds, _) = filter.Model.EncodeImage(images);                                  // (N, 1 + P, Dv)
        var scores = new double[pairs.Count];
        for (var start = 0; start < pairs.Count; start += PairsPerBatch)
        {
            pulse.Beat();
            using var batchScope = NewDisposeScope();
            var batch = pairs.Skip(start).Take(PairsPerBatch).ToList();
            var (ids, mask) = filter.Tokenizer.EncodeBatch([.. batch.Select(pair => pair.Caption)], maxTextLength);
            var rows = tensor(batch.Select(pair => (long)pair.ImageRow).ToArray(), device: embeds.device);
            var probability = filter.Model.MatchProbability(ids, mask, embeds.index_select(0, rows)); // (b)
            probability.to_type(float64).cpu().data<double>().CopyTo(scores.AsSpan(start, batch.Count));
        }

        return scores;
    }

    /// <summary>The images of <paramref name="dataset"/> with ids <paramref name="imageIds"/>, resized for the filter.</summary>
    public Tensor LoadImages(BlipDataset dataset, IReadOnlyList<int> imageIds) => dataset.LoadImages(imageIds, ImageTransform.Eval(ImageSize));
}
