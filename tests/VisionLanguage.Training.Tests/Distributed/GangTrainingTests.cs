using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using VisionLanguage.Testing;
using VisionLanguage.Training.Distributed;
using VisionLanguage.Training.Distributed.Gloo;

namespace VisionLanguage.Training.Tests.Distributed;

/// <summary>
/// The trainer as one process of a gang: one replica each, meeting the others only through the gang's
/// <see cref="ICollectives"/>. Two trainers on threads with the in-process backend stand in for two processes here; the
/// Gloo tests run the same through sockets.
/// </summary>
public sealed class GangTrainingTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gang-trainer-").FullName;

    [Fact]
    public async Task A_gang_of_two_trains_the_same_bits_as_two_replicas_in_one_process()
    {
        using var data = TrainingFixtures.Data();
        var settings = TrainingFixtures.Settings(epochs: 1, accumulation: 2);
        IBlipBatchSource[] shards = [TrainingFixtures.Shard(data.Batches, 4, 6, rank: 0), TrainingFixtures.Shard(data.Batches, 4, 6, rank: 1)];
        using var together = TrainingFixtures.Pretraining(TinyBlip.Config(), settings, replicas: 2);
        await together.TrainAsync(shards);

        using var group = new InProcessCollectives(2);
        using var rank0 = Gang(settings, group.ForRank(0));
        using var rank1 = Gang(settings, group.ForRank(1));
        await Task.WhenAll(Task.Run(() => rank0.TrainAsync([shards[0]])), Task.Run(() => rank1.TrainAsync([shards[1]])));

        Assert.Equal(new TrainingPosition(3, 1, 0), rank1.Position);
        var expected = TrainingFixtures.Snapshot(together, Path.Combine(_folder, "together"));
        TrainingFixtures.AssertBitwiseEqual(expected, TrainingFixtures.Snapshot(rank0, Path.Combine(_folder, "rank0")));
        TrainingFixtures.AssertBitwiseEqual(expected, TrainingFixtures.Snapshot(rank1, Path.Combine(_folder, "rank1")));
    }

    [Fact]
    public async Task A_gang_of_two_over_gloo_sockets_trains_the_same_bits_as_two_replicas_in_one_process_and_checkpoints_like_them()
    {
        using var data = TrainingFixtures.Data();
        var settings = TrainingFixtures.Settings(epochs: 1, accumulation: 2) with { CheckpointEverySteps = 2 };
        IBlipBatchSource[] shards = [TrainingFixtures.Shard(data.Batches, 4, 6, rank: 0), TrainingFixtures.Shard(data.Batches, 4, 6, rank: 1)];
        using var together = TrainingFixtures.Pretraining(TinyBlip.Config(), settings, replicas: 2);
        await together.TrainAsync(shards);

        var store = new InMemoryRendezvousStore();
        var options = new GlooOptions { JoinTimeout = TimeSpan.FromSeconds(30), CollectiveTimeout = TimeSpan.FromSeconds(30) };
        var connected = await Task.WhenAll(Enumerable.Range(0, 2).Select(rank => GlooCollectives.ConnectAsync(rank, 2, store, options, CancellationToken.None)));
        var written = new List<string>[] { [], [] };
        try
        {
            using var rank0 = Gang(settings, connected[0]);
            using var rank1 = Gang(settings, connected[1]);
            await Task.WhenAll(
                Task.Run(() => rank0.TrainAsync([shards[0]], Hooks(0, written))),
                Task.Run(() => rank1.TrainAsync([shards[1]], Hooks(1, written))));

            var expected = TrainingFixtures.Snapshot(together, Path.Combine(_folder, "together"));
            TrainingFixtures.AssertBitwiseEqual(expected, TrainingFixtures.Snapshot(rank0, Path.Combine(_folder, "rank0")));
            TrainingFixtures.AssertBitwiseEqual(expected, TrainingFixtures.Snapshot(rank1, Path.Combine(_folder, "rank1")));
        }
        finally
        {
            foreach (var gang in connected)
            {
                gang.Dispose();
            }
        }

        // Rank 0 wrote the checkpoints at steps 2 and 3, each with both ranks' generators.
        Assert.Empty(written[1]);
        Assert.Equal([2L, 3L], written[0].Select(directory => CheckpointFiles.ReadState(directory).Step));
        Assert.All(written[0], directory => Assert.Equal(2, CheckpointFiles.ReadState(directory).RngStates.Count));
    }

    [Fact]
    public async Task Only_rank_0_writes_checkpoints_and_they_hold_every_ranks_generator_so_a_gang_resumes_exactly()
    {
        using var data = TrainingFixtures.Data();
        var settings = TrainingFixtures.Settings(epochs: 2) with { CheckpointEverySteps = 2 };
        IBlipBatchSource[] shards = [TrainingFixtures.Shard(data.Batches, 4, 3, rank: 0), TrainingFixtures.Shard(data.Batches, 4, 3, rank: 1)];
        using var straight = TrainingFixtures.Pretraining(TinyBlip.Config(), settings, replicas: 2);
        await straight.TrainAsync(shards);

        var written = new List<string>[] { [], [] };
        using (var group = new InProcessCollectives(2))
        {
            using var rank0 = Gang(settings, group.ForRank(0));
            using var rank1 = Gang(settings, group.ForRank(1));
            await Task.WhenAll(
                Task.Run(() => rank0.TrainAsync([shards[0]], Hooks(0, written), stopAtStep: 3)),
                Task.Run(() => rank1.TrainAsync([shards[1]], Hooks(1, written), stopAtStep: 3)));
        }

        Assert.Empty(written[1]);
        var checkpoint = Assert.Single(written[0]);
        var state = CheckpointFiles.ReadState(checkpoint);
        Assert.Equal(2, state.Step);
        Assert.Equal(2, state.RngStates.Count);
        Assert.Equal(2, state.Replicas);

        using var resumedGroup = new InProcessCollectives(2);
        using var resumed0 = Gang(settings, resumedGroup.ForRank(0));
        using var resumed1 = Gang(settings, resumedGroup.ForRank(1));
        Assert.True(resumed0.LoadCheckpoint(checkpoint));
        Assert.True(resumed1.LoadCheckpoint(checkpoint));
        await Task.WhenAll(Task.Run(() => resumed0.TrainAsync([shards[0]])), Task.Run(() => resumed1.TrainAsync([shards[1]])));

        var expected = TrainingFixtures.Snapshot(straight, Path.Combine(_folder, "straight"));
        TrainingFixtures.AssertBitwiseEqual(expected, TrainingFixtures.Snapshot(resumed0, Path.Combine(_folder, "resumed0")));
        TrainingFixtures.AssertBitwiseEqual(expected, TrainingFixtures.Snapshot(resumed1, Path.Combine(_folder, "resumed1")));
    }

    [Fact]
    public async Task Every_rank_starts_from_rank_0s_weights_and_buffers()
    {
        using var data = TrainingFixtures.Data();
        var settings = TrainingFixtures.Settings(epochs: 1);
        using var group = new InProcessCollectives(2);
        using var rank0 = Gang(settings, group.ForRank(0));
        // Rank 1 built from another seed: its weights and queues differ until the start broadcasts rank 0's.
        using var rank1 = new Trainer<BlipPretrainModel, BlipPretrainBatch>(
            _ => new BlipPretrainModel(TinyBlip.Config(), TinyBlip.Tokens, settings.Seed + 1), settings, gang: group.ForRank(1));
        var before = TrainingFixtures.Snapshot(rank1, Path.Combine(_folder, "before"));
        var expected = TrainingFixtures.Snapshot(rank0, Path.Combine(_folder, "rank0"));
        Assert.False(before["visual_encoder.cls_token"].equal(expected["visual_encoder.cls_token"]).all().item<bool>());

        await Task.WhenAll(
            Task.Run(() => rank0.TrainAsync([TrainingFixtures.Shard(data.Batches, 4, 2, rank: 0)], stopAtStep: 0)),
            Task.Run(() => rank1.TrainAsync([TrainingFixtures.Shard(data.Batches, 4, 2, rank: 1)], stopAtStep: 0)));

        TrainingFixtures.AssertBitwiseEqual(expected, TrainingFixtures.Snapshot(rank1, Path.Combine(_folder, "after")));
    }

    [Fact]
    public void A_process_of_a_gang_trains_one_replica()
    {
        using var group = new InProcessCollectives(2);
        var error = Assert.Throws<ArgumentException>(() => new Trainer<BlipPretrainModel, BlipPretrainBatch>(
            _ => new BlipPretrainModel(TinyBlip.Config(), TinyBlip.Tokens, 1), TrainingFixtures.Settings(), replicas: 2, gang: group.ForRank(0)));

        Assert.StartsWith("a process of a gang trains one replica; this one asks for 2", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static Trainer<BlipPretrainModel, BlipPretrainBatch> Gang(TrainerSettings settings, ICollectives gang) =>
        new(_ => new BlipPretrainModel(TinyBlip.Config(), TinyBlip.Tokens, settings.Seed), settings, gang: gang);

    private TrainingHooks Hooks(int rank, List<string>[] written) => new()
    {
        CheckpointRoot = Path.Combine(_folder, $"run-{rank}"),
        CheckpointWritten = (directory, _, _) =>
        {
            written[rank].Add(directory);
            return Task.CompletedTask;
        },
    };
}
