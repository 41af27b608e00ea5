using System.Diagnostics;
using TorchSharp;
using VisionLanguage.Data;
using VisionLanguage.Models;
using VisionLanguage.Models.Layers;
using VisionLanguage.Training.Distributed;
using static TorchSharp.torch;

namespace VisionLanguage.Training;

/// <summary>What a call of <see cref="Trainer{TModel, TBatch}.TrainAsync"/> ended with.</summary>
public sealed record TrainingSummary(TrainingPosition Position, long TotalSteps, StepReport? LastStep, string? LastCheckpoint);

/// <summary>
/// The training loop, one for every model (LAVIS <c>runner_base</c> with <c>base_task.train_step</c>): R model replicas
/// on R threads (data parallel within one process), or this process's one replica in a gang of processes (data
/// parallel across workers, through the gang's <see cref="ICollectives"/>), each reading its own shard, with gradients
/// averaged every step in fixed-order buckets (<see cref="GradientBuckets"/>) so the replicas stay identical. Rank 0
/// writes the checkpoints, holding every rank's generator state; every replica starts from rank 0's weights. Per optimiser step: the model's
/// <see cref="ITrainableModel{TBatch}.BeforeStep"/> hook (a momentum update), <see cref="TrainerSettings.GradAccumulationSteps"/>
/// micro-batches (forward, backward, the <see cref="ITrainableModel{TBatch}.AfterBackward"/> hook with what the model
/// asked to gather from every replica), gradient averaging, clipping, AdamW at the scheduled rate. The loop knows losses,
/// not models. Checkpoints hold everything an exact resume needs; on the CPU, N steps, a checkpoint, a fresh trainer and
/// N more steps give the same bits as 2N steps straight.
/// </summary>
public sealed partial class Trainer<TModel, TBatch> : IDisposable
    where TModel : class, ITrainableModel<TBatch>
    where TBatch : IDisposable
{
    private readonly TrainerSettings _settings;
    private readonly Replica[] _replicas;
    private readonly ICollectives? _gang;
    private TrainingPosition _position = new(0, 0, 0);
    private int _running;

    /// <param name="createModel">
    /// Builds rank r's replica; every replica must get the same weights (the same seed), the trainer reseeds each one's
    /// generator so they draw their own dropout masks and negatives.
    /// </param>
    /// <param name="settings">How to optimise; written into every checkpoint.</param>
    /// <param name="replicas">Data-parallel replicas in this process.</param>
    /// <param name="gang">
    /// This process's rank in a gang of processes training together (one replica each); null trains alone, or with
    /// <paramref name="replicas"/> replicas in this process.
    /// </param>
    public Trainer(Func<int, TModel> createModel, TrainerSettings settings, int replicas = 1, ICollectives? gang = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        if (gang is not null && replicas != 1)
        {
            throw new ArgumentException($"a process of a gang trains one replica; this one asks for {replicas}", nameof(replicas));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Epochs, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(settings.MaxSteps);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.GradAccumulationSteps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.CheckpointEverySteps, 1);
        _settings = settings;
        _gang = gang;
        _replicas = new Replica[replicas];
        for (var local = 0; local < replicas; local++)
        {
            var rank = GlobalRank(local);
            var model = createModel(rank);
            model.Randomness.manual_seed(RankSeed(settings.Seed, rank));
            var trainable = model.TrainableParameters().ToList();
            var parameters = trainable.Select(entry => entry.Parameter).ToList();
            var device = parameters.Count > 0 ? parameters[0].device : CPU;
            _replicas[local] = new Replica(model, new NamedAdamW(trainable, settings.WeightDecay), parameters, new GradientBuckets(parameters), device);
        }
    }

    /// <summary>Replicas training together: this process's, or the gang's processes.</summary>
    public int WorldSize => _gang?.WorldSize ?? _replicas.Length;

    /// <summary>Rank 0's model; every replica holds the same weights after every step.</summary>
    public TModel Model => _replicas[0].Model;

    public IReadOnlyList<TModel> Replicas => [.. _replicas.Select(replica => replica.Model)];

    public TrainerSettings Settings => _settings;

    /// <summary>Steps taken, current epoch, micro-batches of it consumed.</summary>
    public TrainingPosition Position => Volatile.Read(ref _position);

    /// <summary>Throws, naming the fix, when the model cannot train on <paramref name="batchSizePerReplica"/> pairs per replica (e.g. a batch that does not divide a feature queue).</summary>
    public void CheckGlobalBatch(int batchSizePerReplica) => Model.CheckGlobalBatch(batchSizePerReplica, WorldSize);

    /// <summary>
    /// Trains from <see cref="Position"/> to the end of the last epoch, or until <paramref name="stopAtStep"/> steps
    /// have been taken. <paramref name="shards"/> holds one source per replica. Cancellation stops every replica at the
    /// same step boundary, writes a checkpoint (when hooks give a root) and throws <see cref="OperationCanceledException"/>.
    /// <paramref name="abort"/> stops at once instead, with no checkpoint: a wait for data or for the other replicas
    /// (the gang's collectives included, so the other ranks fail with it) ends in <see cref="OperationCanceledException"/>.
    /// </summary>
    public async Task<TrainingSummary> TrainAsync(
        IReadOnlyList<IBatchSource<TBatch>> shards,
        TrainingHooks? hooks = null,
        long? stopAtStep = null,
        CancellationToken cancellationToken = default,
        CancellationToken abort = default)
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
                hooks ?? new TrainingHooks(),
                stopAtStep,
                shards[0].BatchSize);
            using var group = new InProcessCollectives(_replicas.Length);
            using var aborting = abort.Register(_gang is null ? group.Abort : _gang.Abort);
            var ranks = Enumerable.Range(0, _replicas.Length)
                .Select(local => Task.Factory.StartNew(
                    () => RunRank(local, shards[local], _gang ?? group.ForRank(local), plan, cancellationToken),
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
            return new TrainingSummary(Position, totalSteps, outcome.LastStep, outcome.LastCheckpoint);
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

    private int GlobalRank(int local) => _gang?.Rank ?? local;

    /// <summary>
    /// Trains replica <paramref name="local"/> of this process, meeting the others through <paramref name="reducer"/>:
    /// local replica 0 keeps <see cref="Position"/>, global rank 0 calls the hooks and writes checkpoints.
    /// </summary>
    private RankOutcome RunRank(int local, IBatchSource<TBatch> source, ICollectives reducer, RunPlan plan, CancellationToken cancellationToken)
    {
        var replica = _replicas[local];
        var accumulation = _settings.GradAccumulationSteps;
        var position = Position;
        StepReport? last = null;
        string? lastCheckpoint = null;
        var checkpointedAt = -1L;
        replica.Model.SetTraining(true);
        // A model that gathers inside its forward (BLIP-2's in-batch negatives) gathers through this replica's collectives
        // while it trains with others, in-process or in a gang alike; alone it keeps its single-process gathers.
        var gathering = reducer.WorldSize > 1 ? replica.Model as IGathersAcrossRanks : null;
        try
        {
            gathering?.Gather = new CollectivesBatchGather(reducer);

            // Every replica starts from rank 0's weights and buffers (DDP's constructor), fresh or resumed.
            StartFromRankZero(replica, reducer);
            while (position.Epoch < plan.Epochs)
            {
                // Cancellation is honoured at step boundaries, where a checkpoint can be written, not inside a data
                // wait; a failing rank does interrupt the others' waits.
                var batches = source.ReadEpochAsync(position.Epoch, position.BatchInEpoch, reducer.Aborted).GetAsyncEnumerator(reducer.Aborted);
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
                            Checkpoint(reducer, replica, position, last, plan, ref lastCheckpoint);
                            throw new OperationCanceledException("training was cancelled; a checkpoint was saved at the last step", cancellationToken);
                        }

                        last = Step(replica, reducer, batches, position, plan);
                        position = position with { Step = position.Step + 1, BatchInEpoch = position.BatchInEpoch + accumulation };
                        if (local == 0)
                        {
                            // Every process hears of its own steps (each rank's step time); the hook sees the rank.
                            Volatile.Write(ref _position, position);
                            plan.Hooks.StepCompleted?.Invoke(last).GetAwaiter().GetResult();
                        }

                        if (position.Step % _settings.CheckpointEverySteps == 0)
                        {
                            Checkpoint(reducer, replica, position, last, plan, ref lastCheckpoint);
                            checkpointedAt = position.Step;
                        }
                    }
                }
                finally
                {
                    batches.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }

                position = new TrainingPosition(position.Step, position.Epoch + 1, 0);
                if (local == 0)
                {
                    Volatile.Write(ref _position, position);
                }
            }

            if (checkpointedAt != position.Step)
            {
                Checkpoint(reducer, replica, position, last, plan, ref lastCheckpoint);
            }

            return new RankOutcome(last, lastCheckpoint);
        }
        catch
        {
            // Nobody may be left waiting for this rank in a collective, whatever stopped it.
            reducer.Abort();
            throw;
        }
        finally
        {
            // Evaluation after training runs on rank 0 alone; the in-process group is disposed by then.
            gathering?.Gather = SingleProcessGather.Instance;
        }
    }

    private static void StartFromRankZero(Replica replica, ICollectives reducer)
    {
        if (reducer.WorldSize == 1)
        {
            return;
        }

        // A module's every parameter and buffer (momentum encoders, queues); otherwise what the optimiser trains. Frozen
        // parts outside the module come from the same artifact on every rank.
        IReadOnlyList<Tensor> state = replica.Model is nn.Module module
            ? [.. module.parameters(), .. module.buffers()]
            : replica.Trainable;
        reducer.Broadcast(state, root: 0);
    }

    private StepReport Step(Replica replica, ICollectives reducer, IAsyncEnumerator<TBatch> batches, TrainingPosition position, RunPlan plan)
    {
        var started = Stopwatch.GetTimestamp();
        var waited = TimeSpan.Zero;
        var accumulation = _settings.GradAccumulationSteps;
        using var accumulationScalar = accumulation.ToScalar();
        using var scope = NewDisposeScope();
        var learningRate = plan.Schedule.At(position.Step, position.Epoch);
        var step = new TrainingStep(position.Step, position.Epoch, plan.StepsPerEpoch);
        replica.Model.BeforeStep(step);

        Tensor? lossSums = null;                                                              // (objectives), in the model's order
        IReadOnlyList<string> objectives = [];
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
            var onDevice = OnDevice(batch, replica.Device);
            using var moved = ReferenceEquals(onDevice, batch) ? null : (IDisposable)onDevice;
            var output = replica.Model.Forward(onDevice, step);
            output.Loss.div(accumulationScalar).backward();
            if (output.GatheredAfterBackward.Count > 0)
            {
                replica.Model.AfterBackward([.. output.GatheredAfterBackward.Select(reducer.AllGather)]);
            }

            objectives = [.. output.NamedLosses.Select(loss => loss.Objective)];
            lossSums ??= zeros(objectives.Count, dtype: float64, device: replica.Device);
            lossSums.add_(stack(output.NamedLosses.Select(loss => loss.Loss)).detach().to_type(float64), RootedScalars.One);
        }

        var reduceStarted = Stopwatch.GetTimestamp();
        replica.Buckets.AverageGradients(reducer);
        var reduceSeconds = Stopwatch.GetElapsedTime(reduceStarted).TotalSeconds;
        var clip = _settings.GradClipNorm > 0 ? _settings.GradClipNorm : double.PositiveInfinity;
        var gradNorm = nn.utils.clip_grad_norm_(replica.Trainable, clip);
        replica.Optimizer.Step(learningRate);
        replica.Optimizer.ZeroGrad();

        var averaged = reducer.AllGather(lossSums!.unsqueeze(0)).mean([0]).div(accumulationScalar).cpu().data<double>().ToArray();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return new StepReport
        {
            Step = position.Step + 1,
            TotalSteps = plan.TotalSteps,
            Epoch = position.Epoch,
            Losses = [.. objectives.Select((objective, index) => (objective, averaged[index]))],
            Loss = averaged.Sum(),
            LearningRate = learningRate,
            GradNorm = gradNorm,
            ModelMetrics = replica.Model.StepMetrics(step),
            StepSeconds = seconds,
            SamplesPerSecond = (double)plan.BatchSize * accumulation * reducer.WorldSize / seconds,
            DataWaitShare = waited.TotalSeconds / seconds,
            AllReduceShare = reducer.WorldSize > 1 ? reduceSeconds / seconds : null,
            Rank = reducer.Rank,
        };
    }

    /// <summary>A batch on the model's device (the loader builds on the CPU); a batch type that cannot move is taken as it is.</summary>
    private static TBatch OnDevice(TBatch batch, Device device) =>
        batch is IDeviceBatch<TBatch> movable ? movable.To(device) : batch;

    /// <summary>A replica and what trains it; <c>Device</c> is where its parameters are, and so its batches and the step's loss sums.</summary>
    private sealed record Replica(TModel Model, NamedAdamW Optimizer, IReadOnlyList<TorchSharp.Modules.Parameter> Trainable, GradientBuckets Buckets, Device Device);

    /// <summary>One run's length and helpers: <paramref name="Epochs"/> passes, the last one cut short at <paramref name="TotalSteps"/>.</summary>
    private sealed record RunPlan(long StepsPerEpoch, int Epochs, long TotalSteps, LearningRateScheduler Schedule, TrainingHooks Hooks, long? StopAtStep, int BatchSize);

    private sealed record RankOutcome(StepReport? LastStep, string? LastCheckpoint);
}
