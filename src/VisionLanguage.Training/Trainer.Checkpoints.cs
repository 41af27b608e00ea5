using VisionLanguage.Models;
using VisionLanguage.Models.Weights;
using VisionLanguage.Training.Distributed;
using static TorchSharp.torch;

namespace VisionLanguage.Training;

/// <summary>The trainer's checkpoints: written by rank 0 during training or between calls, read before training.</summary>
public sealed partial class Trainer<TModel, TBatch>
{
    /// <summary>Starts from another model's weights (LAVIS <c>load_from_pretrained</c>): names that do not fit are skipped.</summary>
    public WeightsLoadReport LoadInitialWeights(string safetensorsPath)
    {
        WeightsLoadReport? report = null;
        foreach (var replica in _replicas)
        {
            report = replica.Model.LoadWeights(safetensorsPath, WeightsLoading.Lenient);
        }

        return report!;
    }

    /// <summary>
    /// Restores a checkpoint written by <see cref="SaveCheckpoint"/> or during training: weights, buffers (queues),
    /// optimiser moments, position and each replica's generator. The checkpoint must hold this model, or a model of an
    /// older format whose tensors include this model's (which are then taken by name). Returns false when the checkpoint
    /// had another number of replicas, so the generators were reseeded and the continuation is valid but not bitwise the
    /// uninterrupted run's.
    /// </summary>
    public bool LoadCheckpoint(string directory)
    {
        EnsureIdle();
        var state = CheckpointFiles.ReadState(directory, [Model.CheckpointFormat, .. Model.LegacyCheckpointFormats]);
        var loading = state.Format == Model.CheckpointFormat ? WeightsLoading.Strict : WeightsLoading.StrictIgnoringExtra;
        if (state.SamplerSeed != _settings.Seed)
        {
            throw new InvalidDataException(
                $"checkpoint {directory} was trained with seed {state.SamplerSeed}, this run has seed {_settings.Seed}; resume with the same seed, or start fresh");
        }

        var optimizerPath = Path.Combine(directory, CheckpointFiles.Optimizer);
        var moments = Safetensors.Load(optimizerPath);
        try
        {
            foreach (var replica in _replicas)
            {
                replica.Model.LoadWeights(Path.Combine(directory, CheckpointFiles.Weights), loading);
                replica.Optimizer.LoadState(moments, state.OptimizerStep, optimizerPath);
            }
        }
        finally
        {
            foreach (var tensor in moments.Values)
            {
                tensor.Dispose();
            }
        }

        var exact = state.RngStates.Count == WorldSize;
        for (var local = 0; local < _replicas.Length; local++)
        {
            var rank = GlobalRank(local);
            var generator = _replicas[local].Model.Randomness;
            if (exact)
            {
                using var saved = tensor(Convert.FromBase64String(state.RngStates[rank]), device: CPU); // a generator's state is CPU bytes on every device
                generator.set_state(saved);
            }
            else
            {
                generator.manual_seed(RankSeed(_settings.Seed, rank) ^ state.Step);
            }
        }

        Volatile.Write(ref _position, new TrainingPosition(state.Step, state.Epoch, state.BatchInEpoch));
        return exact;
    }

    /// <summary>Writes a checkpoint of the current state into <paramref name="directory"/>; only between training calls.</summary>
    public void SaveCheckpoint(string directory, IReadOnlyDictionary<string, double>? metrics = null)
    {
        EnsureIdle();
        var states = _replicas.Select(replica =>
        {
            using var state = replica.Model.Randomness.get_state();
            return state.bytes.ToArray();
        }).ToList();
        WriteCheckpoint(directory, Position, states, metrics);
    }

    /// <summary>Every rank's generator state gathered; global rank 0 writes them with its weights and moments.</summary>
    private void Checkpoint(ICollectives reducer, Replica replica, TrainingPosition position, StepReport? last, RunPlan plan, ref string? lastCheckpoint)
    {
        if (plan.Hooks.CheckpointRoot is not { } root)
        {
            return;
        }

        using var scope = NewDisposeScope();
        // The state is CPU bytes (every generator is on the CPU, see DeviceRandom); it travels on the model's device, where
        // NCCL's buffers must be, and comes back to be written.
        var generatorStates = reducer.AllGather(replica.Model.Randomness.get_state().to(replica.Device).unsqueeze(0)).cpu(); // (replicas, state bytes)
        if (reducer.Rank != 0)
        {
            return;
        }

        var states = Enumerable.Range(0, reducer.WorldSize).Select(r => generatorStates[r].contiguous().bytes.ToArray()).ToList();
        var directory = Path.Combine(root, $"step-{position.Step:D8}");
        for (var n = 2; Directory.Exists(directory); n++)
        {
            directory = Path.Combine(root, $"step-{position.Step:D8}-{n}");
        }

        Directory.CreateDirectory(directory);
        var metrics = last?.Metrics() ?? new Dictionary<string, double>();
        WriteCheckpoint(directory, position, states, metrics);
        lastCheckpoint = directory;
        plan.Hooks.CheckpointWritten?.Invoke(directory, position, metrics).GetAwaiter().GetResult();
    }

    private void WriteCheckpoint(string directory, TrainingPosition position, IReadOnlyList<byte[]> generatorStates, IReadOnlyDictionary<string, double>? metrics)
    {
        Directory.CreateDirectory(directory);
        var replica = _replicas[0];
        replica.Model.SaveWeights(Path.Combine(directory, CheckpointFiles.Weights));
        Safetensors.Save(Path.Combine(directory, CheckpointFiles.Optimizer), replica.Optimizer.StateTensors());
        CheckpointFiles.WriteState(directory, new TrainerState
        {
            Format = replica.Model.CheckpointFormat,
            Step = position.Step,
            Epoch = position.Epoch,
            BatchInEpoch = position.BatchInEpoch,
            SamplerSeed = _settings.Seed,
            Replicas = generatorStates.Count,
            OptimizerStep = replica.Optimizer.StepCount,
            RngStates = [.. generatorStates.Select(Convert.ToBase64String)],
            Settings = _settings,
            Model = replica.Model.Describe(),
            Metrics = metrics ?? new Dictionary<string, double>(),
        });
    }

    private void EnsureIdle()
    {
        if (Volatile.Read(ref _running) == 1)
        {
            throw new InvalidOperationException("the trainer is training; checkpoints are saved and loaded between training calls");
        }
    }
}
