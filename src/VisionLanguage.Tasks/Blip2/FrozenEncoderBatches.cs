using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2;

/// <summary>
/// Stage 1's batches: each image-caption batch of <paramref name="pairs"/> with its images replaced by the frozen
/// encoder's tokens, computed without gradient as the batch is read (LAVIS runs the frozen ViT inside the step; the
/// random crops stay, as LAVIS's do).
/// </summary>
public sealed class FrozenEncoderBatches(IBatchSource<BlipPretrainBatch> pairs, FrozenImageEncoder encoder) : IBatchSource<Blip2Stage1Batch>
{
    public int BatchSize => pairs.BatchSize;

    public long BatchesPerEpoch => pairs.BatchesPerEpoch;

    public async IAsyncEnumerable<Blip2Stage1Batch> ReadEpochAsync(
        int epoch, long start, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var batch in pairs.ReadEpochAsync(epoch, start, cancellationToken))
        {
            Tensor features;
            using (batch.Images)
            {
                features = encoder.Encode(batch.Images);
            }

            yield return new Blip2Stage1Batch(features, batch.TextIds, batch.TextMask, batch.ImageIds);
        }
    }
}
