using System.Runtime.CompilerServices;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip2;
using static TorchSharp.torch;

namespace VisionLanguage.Bench;

/// <summary>
/// Stage 1's batches from the frozen encoder's outputs computed before training (what <c>image_features: cache</c>
/// does): each of <paramref name="pairs"/>' captions with the <paramref name="features"/> (B, S, V) of its images, the
/// encoder not run.
/// </summary>
internal sealed class CachedFeatureBatches(Stage1BenchPairs pairs, IReadOnlyList<Tensor> features) : IBatchSource<Blip2Stage1Batch>
{
    public int BatchSize => pairs.BatchSize;

    public long BatchesPerEpoch => pairs.Count;

    public async IAsyncEnumerable<Blip2Stage1Batch> ReadEpochAsync(int epoch, long start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var index = start; index < pairs.Count; index++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return pairs.WithFeatures(index, features[(int)index]);
        }

        await Task.CompletedTask;
    }
}
