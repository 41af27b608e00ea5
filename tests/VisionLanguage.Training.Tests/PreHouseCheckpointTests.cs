using System.Security.Cryptography;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using VisionLanguage.Testing;

namespace VisionLanguage.Training.Tests;

/// <summary>
/// Checkpoints written before the house issue still load and resume exactly: each fixture (Fixtures/pre-house, with how
/// it was made) is resumed from step 2 to step 4, and every tensor today's model has must carry the bits the old code
/// had at step 4.
/// </summary>
public sealed class PreHouseCheckpointTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("pre-house-").FullName;

    [Theory]
    [InlineData("pretrain")]
    [InlineData("caption")]
    [InlineData("retrieval")]
    public async Task A_checkpoint_written_before_the_house_resumes_to_the_same_bits(string name)
    {
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pre-house", name);
        var expected = File.ReadAllLines(Path.Combine(fixture, "step4.sha256"))
            .Select(line => line.Split("  ", 2))
            .ToDictionary(parts => parts[1], parts => parts[0], StringComparer.Ordinal);
        using var data = TrainingFixtures.Data();
        var settings = TrainingFixtures.Settings(epochs: 2) with { CheckpointEverySteps = 2 };
        var shard = TrainingFixtures.Shard(data.Batches, batchSize: 4, batchesPerEpoch: 4);
        var actual = name switch
        {
            "pretrain" => await ResumeAsync(TrainingFixtures.Pretraining(TinyBlip.Config(), settings), fixture, shard, name),
            "caption" => await ResumeAsync(TrainingFixtures.Captioning(TinyBlip.Config(), settings, promptLength: 3), fixture, shard, name),
            _ => await ResumeAsync(TrainingFixtures.Retrieval(TinyBlip.Config(), settings), fixture, shard, name),
        };

        var missing = actual.Keys.Where(tensor => !expected.ContainsKey(tensor)).ToList();
        Assert.True(missing.Count == 0, $"tensors the old checkpoint did not have: {string.Join(", ", missing.Take(5))}");
        var different = actual.Where(pair => Convert.ToHexStringLower(SHA256.HashData(pair.Value.bytes.ToArray())) != expected[pair.Key]).Select(pair => pair.Key).ToList();
        Assert.True(different.Count == 0, $"{different.Count} of {actual.Count} tensors differ from the old code's at step 4, e.g. {string.Join(", ", different.Take(5))}");
        Assert.Contains(actual.Keys, tensor => tensor.StartsWith("optimizer/", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private async Task<Dictionary<string, TorchSharp.torch.Tensor>> ResumeAsync<TModel>(
        Trainer<TModel, BlipPretrainBatch> trainer, string fixture, IBlipBatchSource shard, string name)
        where TModel : class, VisionLanguage.Models.ITrainableModel<BlipPretrainBatch>
    {
        using (trainer)
        {
            Assert.True(trainer.LoadCheckpoint(fixture));
            Assert.Equal(2, trainer.Position.Step);
            await trainer.TrainAsync([shard], stopAtStep: 4);
            return TrainingFixtures.Snapshot(trainer, Path.Combine(_folder, name));
        }
    }
}
