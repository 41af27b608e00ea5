using System.Diagnostics;
using TorchSharp;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Training;

/// <summary>What a call of <see cref="BlipTrainer.TrainAsync"/> ended with.</summary>
public sealed record BlipTrainingSummary(TrainingPosition Position, long TotalSteps, BlipStepReport? LastStep, string? LastCheckpoint);

/// <summary>
/// Pretrains BLIP: R model replicas on R threads (data parallel within one process), each reading its own shard, with
/// gradients averaged through <see cref="IGradientReducer"/> every step so the replicas stay identical. Per optimiser
/// step: the momentum update, <see cref="BlipTrainerSettings.GradAccumulationSteps"/> micro-batches (forward, backward,
/// enqueue of the momentum features of every replica), gradient averaging, clipping, AdamW at the scheduled rate.
/// Checkpoints hold everything an exact resume needs; on the CPU, N steps, a checkpoint, a fresh trainer and N more steps
/// give the same bits as 2N steps straight.
/// </summary>
public sealed partial class BlipTrainer : IDisposable
{
    private readonly BlipTrainerSettings _settings;
    private readonly BlipSpecialTokens _tokens;
    private readonly Replica[] _replicas;
    private TrainingPosition _position = new(0, 0, 0);
    private int _running;

    /// <param name="config">The model's shapes and objective hyperparameters.</param>
    /// <param name="tokens">The tokenizer's special ids.</param>
    /// <param name="settings">How to optimise; written into every checkpoint.</param>
    /// <param name="replicas">Data-parallel replicas in this process.</param>
    /// <param name="captionSwaps">The one-word edits of the training captions, when the config's <c>ItmSwapNegativeShare</c> is above 0.</param>
    public BlipTrainer(BlipModelConfig config, BlipSpecialTokens tokens, BlipTrainerSettings settings, int replicas = 1, CaptionSwaps? captionSwaps = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Epochs, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(settings.MaxSteps);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.GradAccumulationSteps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.CheckpointEverySteps, 1);
        _settings = settings;
        _tokens = tokens;
        _replicas = new Replica[replicas];
        for (var rank = 0; rank < replicas; rank++)
        {
            // The same seed gives every replica the same weights; each draws its own dropout masks and negatives.
            var model = new BlipPretrainModel(config, tokens, settings.Seed, settings.Objectives, settings.LmPromptLength, captionSwaps);
            model.Randomness.manual_seed(RankSeed(settings.Seed, rank));
            var trainable = model.TrainableParameters().ToList();
            _replicas[rank] = new Replica(model, new NamedAdamW(trainable, settings.WeightDecay), [.. trainable.Select(entry => entry.Parameter)]);
        }
    }

    /// <summary>Rank 0's model; every replica holds the same weights after every step.</summary>
    public BlipPretrainModel Model => _replicas[0].Model;

    public IReadOnlyList<BlipPretrainModel> Replicas => [.. _replicas.Select(replica => replica.Model)];

    public BlipTrainerSettings Settings => _settings;

    /// <summary>Steps taken, current epoch, micro-batches of it consumed.</summary>
    public TrainingPosition Position => Volatile.Read(ref _position);

    /// <summary>
    /// Throws, naming the fix, unless the global micro-batch (<paramref name="batchSizePerReplica"/> × replicas) divides
    /// the ITC queue: every step enqueues one global batch and the queue must wrap around exactly. Without ITC there is
    /// no queue to fill.
    /// </summary>
    public void CheckGlobalBatch(int batchSizePerReplica)
    {
        if (!_settings.Objectives.HasFlag(BlipObjectiveSet.Itc))
        {
            return;
        }

        var global = (long)batchSizePerReplica * _replicas.Length;
        var queue = Model.Config.QueueSize;
        if (global <= 0 || queue % global != 0)
        {
            var nearest = Math.Max(global, queue / Math.Max(global, 1) * global);
            throw new ArgumentException(
                $"the global batch of {global} pairs ({batchSizePerReplica} per replica × {_replicas.Length} replicas) must divide queue_size {queue}: " +
                $"every step enqueues the whole global batch; set queue_size to a multiple of {global} (e.g. {nearest}) or change batch_size");
        }
    }

    /// <summary>
    /// Trains from <see cref="Position"/> to the end of the last epoch, or until <paramref name="stopAtStep"/> steps
    /// have been taken. <paramref name="shards"/> holds one source per replica. Cancellation stops every replica at the
    /// same step boundary, writes a checkpoint (when hooks give a root) and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public async Task<BlipTrainingSummary> TrainAsync(
        IReadOnlyList<IBlipBatchSource> shards, BlipTrainingHooks? hooks = null, long? stopAtStep = null, CancellationToken cancellationToken = default)
    {
        if (shards.Count != _replicas.Length)
        {
            throw new ArgumentException($"{shards.Count} batch sources for {_replicas.Length} replicas; give one per replica", nameof(shards));
        }

        if (shards.Any(shard => shard.BatchSize != shards[0].BatchSize || shard.BatchesPerEpoch != shards[0].BatchesPerEpoch))
        {
            throw new ArgumentException("every replica's shard must have the same batch size and batches per epoch", nameof(shards));
        }

        CheckGlobalBatch(shards[0].BatchSize);
        var stepsPerEpoch = shards[0].BatchesPerEpoch / _settings.GradAccumulationSteps;
        if (stepsPerEpoch < 1)
        {
            throw new ArgumentException(
                $"an epoch has {shards[0].BatchesPerEpoch} batches per replica, fewer than grad_accumulation_steps {_settings.GradAccumulationSteps}: " +
                "no optimiser step fits; use more data, a smaller batch_size or fewer accumulation steps", nameof(shards));
        }

        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            throw new InvalidOperationException("this trainer is already training");
        }

        try
        {
            var totalSteps = _settings.MaxSteps > 0 ? _settings.MaxSteps : stepsPerEpoch * _settings.Epochs;
            var plan = new RunPlan(
                stepsPerEpoch,
                (int)((totalSteps + stepsPerEpoch - 1) / stepsPerEpoch),
                totalSteps,
                new LearningRateScheduler(_settings.LearningRate, _settings.MinLearningRate, _settings.WarmupSteps, totalSteps, _settings.Schedule),
                hooks ?? new BlipTrainingHooks(),
                stopAtStep,
                shards[0].BatchSize);
            using var group = new InProcessGradientGroup(_replicas.Length);
            var ranks = Enumerable.Range(0, _replicas.Length)
                .Select(rank => Task.Factory.StartNew(
                    () => RunRank(rank, shards[rank], group, plan, cancellationToken),
                    CancellationToken.None,
                    TaskCreationOptions.LongRunning,
                    TaskScheduler.Default))
                .ToArray();
            try
            {
                await Task.WhenAll(ranks);
            }
            catch
            {
                // A rank's own failure, not the cancellations it caused in the others.
                var failure = ranks.Select(rank => rank.Exception?.InnerException).FirstOrDefault(error => error is not null and not OperationCanceledException);
                if (failure is not null)
                {
                    throw failure;
                }

                throw;
            }

            var outcome = ranks[0].Result;
            return new BlipTrainingSummary(Position, totalSteps, outcome.LastStep, outcome.LastCheckpoint);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    public void Dispose()
    {
        foreach (var replica in _replicas)
        {
            replica.Optimizer.Dispose();
            replica.Model.Dispose();
        }
    }

    private static long RankSeed(int seed, int rank)
    {
        // SplitMix64 of (seed, rank): unrelated streams for neighbouring seeds and ranks.
        var z = unchecked(((ulong)(uint)seed << 16) + (ulong)rank + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (long)((z ^ (z >> 31)) & long.MaxValue);
    }

    private static T Await<T>(ValueTask<T> pending) => pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();

    private RankOutcome RunRank(int rank, IBlipBatchSource source, InProcessGradientGroup group, RunPlan plan, CancellationToken cancellationToken)
    {
        var reducer = group.ForRank(rank);
        var replica = _replicas[rank];
        var accumulation = _settings.GradAccumulationSteps;
        var position = Position;
        BlipStepReport? last = null;
        string? lastCheckpoint = null;
        var checkpointedAt = -1L;
        replica.Model.train();
        try
        {
            while (position.Epoch < plan.Epochs)
            {
                // Cancellation is honoured at step boundaries, where a checkpoint can be written, not inside a data
                // wait; a failing rank does interrupt the others' waits.
                var batches = source.ReadEpochAsync(position.Epoch, position.BatchInEpoch, group.Aborted).GetAsyncEnumerator(group.Aborted);
                try
                {
                    while (position.BatchInEpoch / accumulation < plan.StepsPerEpoch && position.Step < plan.TotalSteps)
                    {
                        if (plan.StopAtStep is { } stop && position.Step >= stop)
                        {
                            return new RankOutcome(last, lastCheckpoint);
                        }

                        if (reducer.Any(cancellationToken.IsCancellationRequested))
                        {
                            Checkpoint(rank, reducer, replica, position, last, plan, ref lastCheckpoint);
                            throw new OperationCanceledException("training was cancelled; a checkpoint was saved at the last step", cancellationToken);
                        }

                        last = Step(replica, reducer, batches, position, plan);
                        position = position with { Step = position.Step + 1, BatchInEpoch = position.BatchInEpoch + accumulation };
                        if (rank == 0)
                        {
                            Volatile.Write(ref _position, position);
                            plan.Hooks.StepCompleted?.Invoke(last).GetAwaiter().GetResult();
                        }

                        if (position.Step % _settings.CheckpointEverySteps == 0)
                        {
                            Checkpoint(rank, reducer, replica, position, last, plan, ref lastCheckpoint);
                            checkpointedAt = position.Step;
                        }
                    }
                }
                finally
                {
                    batches.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }

                position = new TrainingPosition(position.Step, position.Epoch + 1, 0);
                if (rank == 0)
                {
                    Volatile.Write(ref _position, position);
                }
            }

            if (checkpointedAt != position.Step)
            {
                Checkpoint(rank, reducer, replica, position, last, plan, ref lastCheckpoint);
            }

            return new RankOutcome(last, lastCheckpoint);
        }
        catch
        {
            // Nobody may be left waiting for this rank in a collective, whatever stopped it.
            group.Abort();
            throw;
        }
    }

    private BlipStepReport Step(Replica replica, IGradientReducer reducer, IAsyncEnumerator<BlipPretrainBatch> batches, TrainingPosition position, RunPlan plan)
    {
        var started = Stopwatch.GetTimestamp();
        var waited = TimeSpan.Zero;
        var accumulation = _settings.GradAccumulationSteps;
        using var accumulationScalar = accumulation.ToScalar();
        using var scope = NewDisposeScope();
        var learningRate = plan.Schedule.At(position.Step, position.Epoch);
        var alpha = _settings.Alpha * Math.Min(1.0, (double)position.Step / plan.StepsPerEpoch);
        var itcOn = _settings.Objectives.HasFlag(BlipObjectiveSet.Itc);
        if (itcOn)
        {
            replica.Model.MomentumUpdate();
        }

        var enabled = EnabledObjectives();
        var lossSums = zeros(enabled.Count, dtype: float64);                              // (enabled objectives), in the order ITC, ITM, LM
        for (var micro = 0; micro < accumulation; micro++)
        {
            var waitStarted = Stopwatch.GetTimestamp();
            if (!Await(batches.MoveNextAsync()))
            {
                throw new InvalidOperationException(
                    $"the batch source ended after {position.BatchInEpoch + micro} batches of epoch {position.Epoch}, though it promised {plan.StepsPerEpoch * accumulation}");
            }

            waited += Stopwatch.GetElapsedTime(waitStarted);
            using var batch = batches.Current;
            var output = replica.Model.call(batch, alpha);
            output.Loss.div(accumulationScalar).backward();
            if (itcOn)
            {
                replica.Model.DequeueAndEnqueue(reducer.AllGather(output.ImageFeatM!), reducer.AllGather(output.TextFeatM!));
            }

            lossSums.add_(stack(output.Losses).detach().to_type(float64), RootedScalars.One);
        }

        var gradients = replica.Trainable.Select(parameter => parameter.grad ?? throw new InvalidOperationException(
            "a trainable parameter received no gradient; every objective must reach every trainable parameter")).ToList();
        reducer.AverageGradients(gradients);
        var clip = _settings.GradClipNorm > 0 ? _settings.GradClipNorm : double.PositiveInfinity;
        var gradNorm = nn.utils.clip_grad_norm_(replica.Trainable, clip);
        replica.Optimizer.Step(learningRate);
        replica.Optimizer.ZeroGrad();

        var averaged = reducer.AllGather(lossSums.unsqueeze(0)).mean([0]).div(accumulationScalar).data<double>().ToArray();
        double? LossOf(BlipObjectiveSet objective) => enabled.IndexOf(objective) is var index and >= 0 ? averaged[index] : null;
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return new BlipStepReport
        {
            Step = position.Step + 1,
            TotalSteps = plan.TotalSteps,
            Epoch = position.Epoch,
            LossItc = LossOf(BlipObjectiveSet.Itc),
            LossItm = LossOf(BlipObjectiveSet.Itm),
            LossLm = LossOf(BlipObjectiveSet.Lm),
            Loss = averaged.Sum(),
            LearningRate = learningRate,
            GradNorm = gradNorm,
            Temperature = itcOn ? replica.Model.Temperature.item<float>() : null,
            Alpha = itcOn ? alpha : null,
            StepSeconds = seconds,
            SamplesPerSecond = (double)plan.BatchSize * accumulation * reducer.WorldSize / seconds,
            DataWaitShare = waited.TotalSeconds / seconds,
        };
    }

    private List<BlipObjectiveSet> EnabledObjectives() =>
        [.. new[] { BlipObjectiveSet.Itc, BlipObjectiveSet.Itm, BlipObjectiveSet.Lm }.Where(objective => _settings.Objectives.HasFlag(objective))];

    private sealed record Replica(BlipPretrainModel Model, NamedAdamW Optimizer, IReadOnlyList<TorchSharp.Modules.Parameter> Trainable);

    /// <summary>One run's length and helpers: <paramref name="Epochs"/> passes, the last one cut short at <paramref name="TotalSteps"/>.</summary>
    private sealed record RunPlan(long StepsPerEpoch, int Epochs, long TotalSteps, LearningRateScheduler Schedule, BlipTrainingHooks Hooks, long? StopAtStep, int BatchSize);

    private sealed record RankOutcome(BlipStepReport? LastStep, string? LastCheckpoint);
}
