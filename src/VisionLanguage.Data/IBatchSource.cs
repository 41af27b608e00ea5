using VisionLanguage.Models.Blip;

namespace VisionLanguage.Data;

/// <summary>
/// One rank's training batches. The order of an epoch is a function of the sampler seed, the epoch, the rank and the
/// world size only, so that a resumed run reads exactly the batches the interrupted one would have read next.
/// </summary>
/// <typeparam name="TBatch">What the model trains on; the caller owns each batch and disposes it.</typeparam>
public interface IBatchSource<out TBatch>
{
    /// <summary>Pairs in each batch this source yields.</summary>
    int BatchSize { get; }

    /// <summary>Batches each epoch yields, the same on every rank.</summary>
    long BatchesPerEpoch { get; }

    /// <summary>
    /// The batches of <paramref name="epoch"/> from the <paramref name="start"/>-th on (0-based; earlier ones are skipped
    /// without being prepared where possible). The caller owns each batch and disposes it.
    /// </summary>
    IAsyncEnumerable<TBatch> ReadEpochAsync(int epoch, long start, CancellationToken cancellationToken);
}

/// <summary>A source of the batches every BLIP model trains on (images, captions, image ids).</summary>
public interface IBlipBatchSource : IBatchSource<BlipPretrainBatch>;
