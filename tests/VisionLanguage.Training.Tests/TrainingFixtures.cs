using VisionLanguage.Data;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Weights;
using VisionLanguage.Testing;
using static TorchSharp.torch;

namespace VisionLanguage.Training.Tests;

/// <summary>Tiny trainers and synthetic shards for the training tests.</summary>
internal static class TrainingFixtures
{
    public static TrainerSettings Settings(int epochs = 2, int accumulation = 1, int seed = 11) => new()
    {
        Epochs = epochs,
        LearningRate = 1e-3,
        MinLearningRate = 1e-5,
        WarmupSteps = 2,
        GradAccumulationSteps = accumulation,
        CheckpointEverySteps = 1000,
        Seed = seed,
    };

    /// <summary>A shard whose batch <c>i</c> of epoch <c>e</c> depends on (rank, e, i) only.</summary>
    public static IBlipBatchSource Shard(SyntheticPretrainBatches data, int batchSize, long batchesPerEpoch, int rank = 0) =>
        new InMemoryBlipBatchSource(batchSize, batchesPerEpoch, (epoch, index) => data.Batch(batchSize, rank * 1_000_000 + epoch * 1_000 + index));

    /// <summary>Pretraining the tiny model: every replica from the settings' seed.</summary>
    public static Trainer<BlipPretrainModel, BlipPretrainBatch> Pretraining(BlipModelConfig config, TrainerSettings settings, int replicas = 1, CaptionSwaps? swaps = null) =>
        new(_ => new BlipPretrainModel(config, TinyBlip.Tokens, settings.Seed, swaps), settings, replicas);

    /// <summary>A captioning finetune of the tiny model, the prompt's first <paramref name="promptLength"/> positions left out of the loss.</summary>
    public static Trainer<BlipCaptionModel, BlipPretrainBatch> Captioning(BlipModelConfig config, TrainerSettings settings, int promptLength) =>
        new(_ => new BlipCaptionModel(config, TinyBlip.Tokens, settings.Seed, promptLength), settings);

    /// <summary>A retrieval finetune of the tiny model.</summary>
    public static Trainer<BlipRetrievalModel, BlipPretrainBatch> Retrieval(BlipModelConfig config, TrainerSettings settings) =>
        new(_ => new BlipRetrievalModel(config, TinyBlip.Tokens, settings.Seed), settings);

    /// <summary>Every state-dict tensor and optimiser moment of rank 0, by name.</summary>
    public static Dictionary<string, Tensor> Snapshot<TModel>(Trainer<TModel, BlipPretrainBatch> trainer, string folder)
        where TModel : class, VisionLanguage.Models.ITrainableModel<BlipPretrainBatch>
    {
        trainer.SaveCheckpoint(folder);
        var weights = Safetensors.Load(Path.Combine(folder, CheckpointFiles.Weights));
        foreach (var (name, moment) in Safetensors.Load(Path.Combine(folder, CheckpointFiles.Optimizer)))
        {
            weights.Add("optimizer/" + name, moment);
        }

        return weights;
    }

    public static void AssertBitwiseEqual(Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        var different = expected.Keys.Where(name => !expected[name].bytes.SequenceEqual(actual[name].bytes)).ToList();
        Assert.True(different.Count == 0, $"{different.Count} tensors differ, e.g. {string.Join(", ", different.Take(5))}");
    }

    public static TinyData Data() => new();

    /// <summary>Swaps learnt from every two-word caption of the tiny vocabulary: any first word can be replaced.</summary>
    public static CaptionSwaps FirstWordSwaps()
    {
        var words = Enumerable.Range(7, TinyBlip.VocabSize - 7).Select(id => (long)id).ToList();
        var tokens = TinyBlip.Tokens;
        return CaptionSwaps.Learn(
            words.SelectMany(first => words.Select(second => (IReadOnlyList<long>)[tokens.ClsId, first, second, tokens.SepId])), tokens.All);
    }

    internal sealed class TinyData : IDisposable
    {
        public SyntheticPretrainBatches Batches { get; } = TinyBlip.Data(seed: 5);

        public void Dispose() => Batches.Dispose();
    }
}
