namespace VisionLanguage.Data;

/// <summary>Where a pass over the data stands: the epoch, and the next batch to read in it.</summary>
public readonly record struct SamplerPosition(int Epoch, int Batch);

/// <summary>
/// What a checkpoint stores to resume the data order exactly: the position and everything the order depends on,
/// so a resume against a different dataset or batch layout is refused rather than silently reordered.
/// </summary>
public sealed record SamplerState
{
    public required int Seed { get; init; }
    public required int DatasetSize { get; init; }
    public required int BatchSize { get; init; }
    public required int WorldSize { get; init; }
    public required bool Shuffle { get; init; }
    public required bool DropLast { get; init; }
    public required int Epoch { get; init; }

    /// <summary>The next batch to read in <see cref="Epoch"/>.</summary>
    public required int Batch { get; init; }
}

/// <summary>
/// Orders a dataset's samples into batches for one rank of a gang: each epoch is a fresh permutation drawn from
/// (seed, epoch), dealt round-robin to the ranks (PyTorch's DistributedSampler), so the ranks' shards are disjoint
/// and every rank gets the same number of batches of the same sizes. With <c>dropLast</c> the tail that does not
/// fill a batch on every rank is left out (a different tail each epoch); without it the permutation is padded by
/// wrapping around to the start, so a few samples appear twice. The order depends only on the seed, the epoch and
/// the layout, so any position can be resumed without replaying the ones before it.
/// </summary>
public sealed class DistributedSampler
{
    private const long ShuffleStream = 0x53485546; // "SHUF"
    private readonly Lock _lock = new();
    private (int Epoch, int[] Indices)? _cached;

    public DistributedSampler(int datasetSize, int batchSize, int seed, int rank = 0, int worldSize = 1, bool shuffle = true, bool dropLast = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(datasetSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        if (rank < 0 || rank >= worldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {worldSize})");
        }

        DatasetSize = datasetSize;
        BatchSize = batchSize;
        Seed = seed;
        Rank = rank;
        WorldSize = worldSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        if (dropLast)
        {
            BatchesPerEpoch = datasetSize / (worldSize * batchSize);
            if (BatchesPerEpoch == 0)
            {
                throw new ArgumentException(
                    $"the dataset has {datasetSize} samples, fewer than one batch of {batchSize} on each of {worldSize} rank(s); " +
                    "lower batch_size, or use more data", nameof(datasetSize));
            }

            SamplesPerEpoch = BatchesPerEpoch * batchSize;
        }
        else
        {
            SamplesPerEpoch = (datasetSize + worldSize - 1) / worldSize;
            BatchesPerEpoch = (SamplesPerEpoch + batchSize - 1) / batchSize;
        }
    }

    public int DatasetSize { get; }
    public int BatchSize { get; }
    public int Seed { get; }
    public int Rank { get; }
    public int WorldSize { get; }
    public bool Shuffle { get; }
    public bool DropLast { get; }

    /// <summary>Batches this rank reads per epoch; the same on every rank.</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>Samples this rank reads per epoch.</summary>
    public int SamplesPerEpoch { get; }

    /// <summary>This rank's samples for <paramref name="epoch"/>, in reading order.</summary>
    public int[] EpochIndices(int epoch) => [.. Indices(epoch)];

    /// <summary>The sample indices of batch <paramref name="batch"/> of <paramref name="epoch"/> on this rank.</summary>
    public ReadOnlyMemory<int> BatchIndices(int epoch, int batch)
    {
        if (batch < 0 || batch >= BatchesPerEpoch)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"an epoch has {BatchesPerEpoch} batches");
        }

        var start = batch * BatchSize;
        return Indices(epoch).AsMemory(start, Math.Min(BatchSize, SamplesPerEpoch - start));
    }

    /// <summary>The position after an epoch's last batch moved on to the start of the next epoch; others unchanged.</summary>
    public SamplerPosition Normalize(SamplerPosition position) =>
        position.Batch >= BatchesPerEpoch ? new SamplerPosition(position.Epoch + 1, 0) : position;

    /// <summary>The state a checkpoint stores for <paramref name="position"/>.</summary>
    public SamplerState CaptureState(SamplerPosition position) => new()
    {
        Seed = Seed,
        DatasetSize = DatasetSize,
        BatchSize = BatchSize,
        WorldSize = WorldSize,
        Shuffle = Shuffle,
        DropLast = DropLast,
        Epoch = position.Epoch,
        Batch = position.Batch,
    };

    /// <summary>The position to resume from; throws when the state was captured under another data order.</summary>
    public SamplerPosition Restore(SamplerState state)
    {
        var expected = CaptureState(new SamplerPosition(state.Epoch, state.Batch));
        if (expected != state)
        {
            throw new InvalidOperationException(
                $"the checkpoint's data order (seed {state.Seed}, {state.DatasetSize} samples, batch {state.BatchSize}, world size {state.WorldSize}, " +
                $"shuffle {state.Shuffle}, drop_last {state.DropLast}) differs from this run's (seed {Seed}, {DatasetSize} samples, batch {BatchSize}, " +
                $"world size {WorldSize}, shuffle {Shuffle}, drop_last {DropLast}); resume with the same data and options, or start fresh");
        }

        if (state.Epoch < 0 || state.Batch < 0 || state.Batch > BatchesPerEpoch)
        {
            throw new InvalidOperationException($"the checkpoint's data position (epoch {state.Epoch}, batch {state.Batch}) is outside an epoch of {BatchesPerEpoch} batches");
        }

        return Normalize(new SamplerPosition(state.Epoch, state.Batch));
    }

    /// <summary>The epoch's order, computed once and kept while the epoch is read; never handed out to be changed.</summary>
    private int[] Indices(int epoch)
    {
        lock (_lock)
        {
            if (_cached is { } cached && cached.Epoch == epoch)
            {
                return cached.Indices;
            }
        }

        var order = new int[DatasetSize];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        if (Shuffle)
        {
            DataRandom.For(Seed, ShuffleStream, epoch).Shuffle(order.AsSpan());
        }

        var indices = new int[SamplesPerEpoch];
        for (var k = 0; k < indices.Length; k++)
        {
            // Round-robin over the (wrapped) permutation: rank r takes positions r, r + W, r + 2W, ...
            indices[k] = order[((k * WorldSize) + Rank) % DatasetSize];
        }

        lock (_lock)
        {
            _cached = (epoch, indices);
        }

        return indices;
    }
}
