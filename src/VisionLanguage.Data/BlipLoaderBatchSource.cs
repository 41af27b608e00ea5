using VisionLanguage.Models.Blip;

namespace VisionLanguage.Data;

/// <summary>
/// A <see cref="BlipDataLoader"/>'s batches as the trainer takes them (<see cref="IBlipBatchSource"/>); the tensors move to the training
/// batch, which the trainer disposes.
/// </summary>
public sealed class BlipLoaderBatchSource(BlipDataLoader loader) : IBlipBatchSource
{
    public int BatchSize => (int)loader.Sampler.BatchIndices(0, 0).Length;

    public long BatchesPerEpoch => loader.BatchesPerEpoch;

    public async IAsyncEnumerable<BlipPretrainBatch> ReadEpochAsync(
        int epoch, long start, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var batch in loader.ReadEpochAsync(epoch, (int)start, cancellationToken))
        {
            yield return new BlipPretrainBatch(batch.Images, batch.TextIds, batch.TextMask, batch.ImageIds);
        }
    }
}
