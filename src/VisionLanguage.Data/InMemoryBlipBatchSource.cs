using System.Runtime.CompilerServices;
using VisionLanguage.Models.Blip;

namespace VisionLanguage.Data;

/// <summary>Batches made on demand by a function of (epoch, index): for tests and the model-side bench.</summary>
public sealed class InMemoryBlipBatchSource(int batchSize, long batchesPerEpoch, Func<int, long, BlipPretrainBatch> batchAt) : IBlipBatchSource
{
    public int BatchSize => batchSize;

    public long BatchesPerEpoch => batchesPerEpoch;

    public async IAsyncEnumerable<BlipPretrainBatch> ReadEpochAsync(int epoch, long start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var index = start; index < batchesPerEpoch; index++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return batchAt(epoch, index);
        }

        await Task.CompletedTask;
    }
}
