using System.Diagnostics;
using System.Runtime.CompilerServices;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using VisionLanguage.Testing;
using Xunit.Abstractions;

namespace VisionLanguage.Training.Tests;

public sealed class BlipTrainerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("blip-trainer-").FullName;

    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(0.5, 1)] // swapped ITM negatives draw from the model's generator, which the checkpoint holds
    [InlineData(0.5, 3)] // so do the hardest of three swaps, scored with dropout off
    public async Task Resuming_from_a_checkpoint_gives_the_same_bits_as_training_straight_through(double swapShare, int swapCandidates)
    {
        using var data = TrainingFixtures.Data();
        var config = TinyBlip.Config() with { ItmSwapNegativeShare = swapShare, ItmSwapCandidates = swapCandidates };
        var settings = TrainingFixtures.Settings(epochs: 2, accumulation: 2) with { CheckpointEverySteps = 3 };
        var swaps = TrainingFixtures.FirstWordSwaps();
        var shard = TrainingFixtures.Shard(data.Batches, batchSize: 4, batchesPerEpoch: 8); // 4 steps per epoch

        // 6 steps straight, across the epoch boundary.
        using var straight = TrainingFixtures.Pretraining(config, settings, swaps: swaps);
        await straight.TrainAsync([shard], stopAtStep: 6);

        // 3 steps, the in-training checkpoint at step 3, then a fresh trainer from it for 3 more.
        string? written = null;
        using (var first = TrainingFixtures.Pretraining(config, settings, swaps: swaps))
        {
            var hooks = new TrainingHooks
            {
                CheckpointRoot = Path.Combine(_folder, "run"),
                CheckpointWritten = (directory, position, _) =>
                {
                    written ??= directory;
                    return Task.CompletedTask;
                },
            };
            await first.TrainAsync([shard], hooks, stopAtStep: 4);
        }

        Assert.NotNull(written);
        Assert.Equal(3, CheckpointFiles.ReadState(written).Step);
        using var resumed = TrainingFixtures.Pretraining(config, settings, swaps: swaps);
        Assert.True(resumed.LoadCheckpoint(written));
        Assert.Equal(new TrainingPosition(3, 0, 6), resumed.Position);
        await resumed.TrainAsync([shard], stopAtStep: 6);

        Assert.Equal(straight.Position, resumed.Position);
        TrainingFixtures.AssertBitwiseEqual(
            TrainingFixtures.Snapshot(straight, Path.Combine(_folder, "straight")),
            TrainingFixtures.Snapshot(resumed, Path.Combine(_folder, "resumed")));
    }

    [Fact]
    public async Task Replicas_hold_identical_parameters_and_queues_after_every_step()
    {
        using var data = TrainingFixtures.Data();
        var settings = TrainingFixtures.Settings(epochs: 1);
        using var trainer = TrainingFixtures.Pretraining(TinyBlip.Config(), settings, replicas: 2);
        IBlipBatchSource[] shards = [TrainingFixtures.Shard(data.Batches, 4, 3, rank: 0), TrainingFixtures.Shard(data.Batches, 4, 3, rank: 1)];
        var checkedSteps = 0;
        var hooks = new TrainingHooks
        {
            StepCompleted = _ =>
            {
                var first = trainer.Replicas[0].state_dict();
                var second = trainer.Replicas[1].state_dict();
                foreach (var (name, tensor) in first)
                {
                    Assert.True(tensor.bytes.SequenceEqual(second[name].bytes), $"{name} differs after step {checkedSteps + 1}");
                }

                checkedSteps++;
                return Task.CompletedTask;
            },
        };

        var summary = await trainer.TrainAsync(shards, hooks);

        Assert.Equal(3, checkedSteps);
        Assert.Equal(3, summary.Position.Step);
        // Both replicas' momentum features went into both queues: two batches of four per step, wrapped in a queue of 16.
        Assert.Equal(8, trainer.Model.QueuePointer);
    }

    [Fact]
    public async Task A_replica_whose_data_fails_stops_the_others_and_its_error_is_the_one_reported()
    {
        using var data = TrainingFixtures.Data();
        using var trainer = TrainingFixtures.Pretraining(TinyBlip.Config(), TrainingFixtures.Settings(epochs: 1), replicas: 2);
        var failing = new InMemoryBlipBatchSource(4, 4, (epoch, index) => index < 2
            ? data.Batches.Batch(4, 500 + index)
            : throw new InvalidDataException("image 17 does not decode"));

        var error = await Assert.ThrowsAsync<InvalidDataException>(
            () => trainer.TrainAsync([TrainingFixtures.Shard(data.Batches, 4, 4), failing])).WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal("image 17 does not decode", error.Message);
        Assert.Equal(2, trainer.Position.Step);
    }

    [Fact]
    public void A_global_batch_that_does_not_divide_the_queue_is_refused_before_training()
    {
        using var trainer = TrainingFixtures.Pretraining(TinyBlip.Config(queueSize: 16), TrainingFixtures.Settings(), replicas: 2);

        var error = Assert.Throws<ArgumentException>(() => trainer.CheckGlobalBatch(3));

        Assert.Contains("global batch of 6 pairs (3 per replica × 2 replicas) must divide queue_size 16", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_step_budget_trains_exactly_that_many_steps_across_epochs_whatever_epochs_says()
    {
        using var data = TrainingFixtures.Data();
        var settings = TrainingFixtures.Settings(epochs: 1) with { MaxSteps = 6, CheckpointEverySteps = 100 };
        using var trainer = TrainingFixtures.Pretraining(TinyBlip.Config(), settings);
        var reports = new List<StepReport>();
        var checkpoints = new List<TrainingPosition>();
        var hooks = new TrainingHooks
        {
            CheckpointRoot = Path.Combine(_folder, "budget"),
            StepCompleted = report =>
            {
                reports.Add(report);
                return Task.CompletedTask;
            },
            CheckpointWritten = (_, position, _) =>
            {
                checkpoints.Add(position);
                return Task.CompletedTask;
            },
        };

        // 4 steps per epoch: the budget of 6 takes all of the first epoch and half of the second.
        var summary = await trainer.TrainAsync([TrainingFixtures.Shard(data.Batches, batchSize: 4, batchesPerEpoch: 4)], hooks);

        Assert.Equal([1, 2, 3, 4, 5, 6], reports.Select(report => report.Step));
        Assert.Equal([0, 0, 0, 0, 1, 1], reports.Select(report => report.Epoch));
        Assert.All(reports, report => Assert.Equal(6, report.TotalSteps));
        Assert.Equal(6, summary.TotalSteps);
        Assert.Equal(new TrainingPosition(6, 2, 0), trainer.Position);
        Assert.Equal([new TrainingPosition(6, 2, 0)], checkpoints);
    }

    [Fact]
    public async Task Cancelling_stops_at_a_step_boundary_after_writing_a_checkpoint()
    {
        using var data = TrainingFixtures.Data();
        using var trainer = TrainingFixtures.Pretraining(TinyBlip.Config(), TrainingFixtures.Settings(epochs: 5));
        using var cancellation = new CancellationTokenSource();
        var checkpoints = new List<TrainingPosition>();
        var hooks = new TrainingHooks
        {
            CheckpointRoot = Path.Combine(_folder, "cancelled"),
            StepCompleted = report =>
            {
                if (report.Step == 2)
                {
                    cancellation.Cancel();
                }

                return Task.CompletedTask;
            },
            CheckpointWritten = (_, position, _) =>
            {
                checkpoints.Add(position);
                return Task.CompletedTask;
            },
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => trainer.TrainAsync([TrainingFixtures.Shard(data.Batches, 4, 4)], hooks, cancellationToken: cancellation.Token));

        Assert.Equal([new TrainingPosition(2, 0, 2)], checkpoints);
        Assert.Equal(2, trainer.Position.Step);
    }

    [Fact]
    public async Task Aborting_ends_a_wait_for_data_that_never_comes_at_once_and_writes_no_checkpoint()
    {
        using var data = TrainingFixtures.Data();
        using var trainer = TrainingFixtures.Pretraining(TinyBlip.Config(), TrainingFixtures.Settings(epochs: 1), replicas: 2);
        using var abort = new CancellationTokenSource();
        var checkpoints = new List<TrainingPosition>();
        var hooks = new TrainingHooks
        {
            CheckpointRoot = Path.Combine(_folder, "aborted"),
            CheckpointWritten = (_, position, _) =>
            {
                checkpoints.Add(position);
                return Task.CompletedTask;
            },
        };
        // Replica 1's data stalls after its first batch, as a hung loader would; replica 0 waits for it in the step's all-reduce.
        IBlipBatchSource[] shards = [TrainingFixtures.Shard(data.Batches, 4, 4, rank: 0), new StallingSource(TrainingFixtures.Shard(data.Batches, 4, 4, rank: 1), after: 1)];

        var training = trainer.TrainAsync(shards, hooks, abort: abort.Token);
        // The first step ends; the second can never (a fixed 200 ms wait lost this race under load).
        for (var waited = Stopwatch.StartNew(); trainer.Position.Step < 1 && waited.Elapsed < TimeSpan.FromSeconds(60);)
        {
            await Task.Delay(10);
        }

        await Task.Delay(TimeSpan.FromMilliseconds(100));
        Assert.False(training.IsCompleted);
        await abort.CancelAsync();

        // Without the abort the wait has no end: the bound only keeps a regression from hanging the suite.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => training.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Empty(checkpoints);
        Assert.Equal(1, trainer.Position.Step);
    }

    [Fact]
    public async Task A_tiny_model_learns_captions_that_are_a_function_of_the_image()
    {
        using var data = TrainingFixtures.Data();
        var settings = TrainingFixtures.Settings(epochs: 2) with { LearningRate = 5e-3, WarmupSteps = 5, MinLearningRate = 1e-4 };
        var config = TinyBlip.Config(queueSize: 48);
        using var trainer = TrainingFixtures.Pretraining(config, settings);
        var reports = new List<StepReport>();
        var timer = Stopwatch.StartNew();

        await trainer.TrainAsync(
            [TrainingFixtures.Shard(data.Batches, batchSize: 12, batchesPerEpoch: 50)],
            new TrainingHooks { StepCompleted = report => { reports.Add(report); return Task.CompletedTask; } });

        output.WriteLine($"{reports.Count} steps in {timer.Elapsed.TotalSeconds:F1} s");
        double Mean(IEnumerable<StepReport> window, Func<StepReport, double> loss) => window.Average(loss);
        var first = reports.Take(10).ToList();
        var last = reports.TakeLast(10).ToList();
        foreach (var (name, loss) in new (string, Func<StepReport, double>)[] { ("itc", r => r.LossOf("itc")!.Value), ("itm", r => r.LossOf("itm")!.Value), ("lm", r => r.LossOf("lm")!.Value) })
        {
            output.WriteLine($"{name}: first 10 steps {Mean(first, loss):F3}, last 10 {Mean(last, loss):F3}");
        }

        Assert.Equal(100, reports.Count);
        Assert.True(Mean(last, r => r.LossOf("lm")!.Value) < 0.6 * Mean(first, r => r.LossOf("lm")!.Value));
        Assert.True(Mean(last, r => r.LossOf("itc")!.Value) < 0.8 * Mean(first, r => r.LossOf("itc")!.Value));
        Assert.True(Mean(last, r => r.LossOf("itm")!.Value) < 0.8 * Mean(first, r => r.LossOf("itm")!.Value));
        Assert.All(reports, report => Assert.True(double.IsFinite(report.Loss) && report.SamplesPerSecond > 0));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}

/// <summary>A source that yields <c>after</c> batches of each epoch and then waits until cancelled.</summary>
file sealed class StallingSource(IBlipBatchSource source, int after) : IBlipBatchSource
{
    public int BatchSize => source.BatchSize;

    public long BatchesPerEpoch => source.BatchesPerEpoch;

    public async IAsyncEnumerable<BlipPretrainBatch> ReadEpochAsync(int epoch, long start, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var yielded = 0;
        await foreach (var batch in source.ReadEpochAsync(epoch, start, cancellationToken))
        {
            if (yielded++ == after)
            {
                batch.Dispose();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            yield return batch;
        }
    }
}
