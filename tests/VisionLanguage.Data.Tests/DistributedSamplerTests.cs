
namespace VisionLanguage.Data.Tests;

public sealed class DistributedSamplerTests
{
    [Theory]
    [InlineData(100, 8, 3, true)]
    [InlineData(100, 8, 3, false)]
    [InlineData(97, 5, 4, false)]
    [InlineData(64, 4, 2, true)]
    [InlineData(7, 2, 3, false)]
    public void Every_rank_gets_the_same_number_of_batches_of_the_same_sizes(int size, int batch, int world, bool dropLast)
    {
        var samplers = Enumerable.Range(0, world).Select(rank => new DistributedSampler(size, batch, seed: 1, rank, world, dropLast: dropLast)).ToList();

        var expectedBatches = dropLast ? size / (batch * world) : (((size + world - 1) / world) + batch - 1) / batch;
        foreach (var sampler in samplers)
        {
            Assert.Equal(expectedBatches, sampler.BatchesPerEpoch);
            var sizes = Enumerable.Range(0, sampler.BatchesPerEpoch).Select(b => sampler.BatchIndices(0, b).Length).ToList();
            Assert.Equal(Enumerable.Range(0, samplers[0].BatchesPerEpoch).Select(b => samplers[0].BatchIndices(0, b).Length), sizes);
            Assert.All(sizes.SkipLast(1), length => Assert.Equal(batch, length));
        }
    }

    [Fact]
    public void Shards_are_disjoint_and_with_drop_last_leave_out_only_the_tail()
    {
        var shards = Enumerable.Range(0, 3).Select(rank => new DistributedSampler(100, 8, seed: 5, rank, 3).EpochIndices(2)).ToList();

        Assert.All(shards, shard => Assert.Equal(32, shard.Length));
        var all = shards.SelectMany(shard => shard).ToList();
        Assert.Equal(96, all.Distinct().Count());
        Assert.All(all, index => Assert.InRange(index, 0, 99));
    }

    [Fact]
    public void Without_drop_last_the_shards_cover_every_sample_and_repeat_only_the_padding()
    {
        var shards = Enumerable.Range(0, 4).Select(rank => new DistributedSampler(97, 5, seed: 5, rank, 4, dropLast: false).EpochIndices(0)).ToList();

        var all = shards.SelectMany(shard => shard).ToList();
        Assert.Equal(100, all.Count);
        Assert.Equal(Enumerable.Range(0, 97), all.Distinct().Order());
    }

    [Fact]
    public void Each_epoch_is_a_different_permutation_and_the_same_seed_gives_the_same_one()
    {
        var sampler = new DistributedSampler(50, 5, seed: 9);
        var again = new DistributedSampler(50, 5, seed: 9);
        var otherSeed = new DistributedSampler(50, 5, seed: 10);

        Assert.Equal(Enumerable.Range(0, 50), sampler.EpochIndices(0).Order());
        Assert.Equal(sampler.EpochIndices(0), again.EpochIndices(0));
        Assert.NotEqual(sampler.EpochIndices(0), sampler.EpochIndices(1));
        Assert.NotEqual(sampler.EpochIndices(0), otherSeed.EpochIndices(0));
        Assert.Equal(Enumerable.Range(0, 50), new DistributedSampler(50, 5, seed: 9, shuffle: false).EpochIndices(0));
    }

    [Fact]
    public void Resuming_from_a_captured_position_gives_the_same_remaining_order()
    {
        var sampler = new DistributedSampler(100, 8, seed: 3, rank: 1, worldSize: 2);
        var straight = Batches(sampler, new SamplerPosition(0, 0), epochs: 3);

        // Stop after 4 batches of epoch 1, store the state, resume in a fresh sampler.
        var position = new SamplerPosition(1, 4);
        var state = sampler.CaptureState(position);
        var resumed = new DistributedSampler(100, 8, seed: 3, rank: 1, worldSize: 2);
        var restored = resumed.Restore(state);

        Assert.Equal(position, restored);
        Assert.Equal(straight.Skip(sampler.BatchesPerEpoch + 4), Batches(resumed, restored, epochs: 3), new ArrayComparer());
    }

    [Fact]
    public void A_position_at_the_end_of_an_epoch_resumes_at_the_start_of_the_next()
    {
        var sampler = new DistributedSampler(100, 8, seed: 3);

        Assert.Equal(new SamplerPosition(2, 0), sampler.Restore(sampler.CaptureState(new SamplerPosition(1, sampler.BatchesPerEpoch))));
    }

    [Fact]
    public void A_state_captured_under_another_data_order_is_refused()
    {
        var state = new DistributedSampler(100, 8, seed: 3).CaptureState(new SamplerPosition(1, 2));

        var error = Assert.Throws<InvalidOperationException>(() => new DistributedSampler(101, 8, seed: 3).Restore(state));

        Assert.Equal(
            "the checkpoint's data order (seed 3, 100 samples, batch 8, world size 1, shuffle True, drop_last True) differs from this run's " +
            "(seed 3, 101 samples, batch 8, world size 1, shuffle True, drop_last True); resume with the same data and options, or start fresh",
            error.Message);
    }

    [Fact]
    public void A_dataset_smaller_than_one_global_batch_is_refused_with_drop_last()
    {
        var error = Assert.Throws<ArgumentException>(() => new DistributedSampler(10, 4, seed: 0, rank: 0, worldSize: 3));

        Assert.StartsWith("the dataset has 10 samples, fewer than one batch of 4 on each of 3 rank(s); lower batch_size, or use more data", error.Message, StringComparison.Ordinal);
    }

    private static List<int[]> Batches(DistributedSampler sampler, SamplerPosition from, int epochs)
    {
        var batches = new List<int[]>();
        for (var epoch = from.Epoch; epoch < epochs; epoch++)
        {
            for (var batch = epoch == from.Epoch ? from.Batch : 0; batch < sampler.BatchesPerEpoch; batch++)
            {
                batches.Add(sampler.BatchIndices(epoch, batch).ToArray());
            }
        }

        return batches;
    }

    private sealed class ArrayComparer : IEqualityComparer<int[]>
    {
        public bool Equals(int[]? x, int[]? y) => x!.SequenceEqual(y!);

        public int GetHashCode(int[] obj) => obj.Length;
    }
}
