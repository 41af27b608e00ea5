using System.Buffers.Binary;
using System.Text.Json;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Stages;
using Xunit.Abstractions;

namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>
/// A gang of two worker processes trains real <c>blip.pretrain</c> data-parallel through the orchestrator: Gloo over
/// 127.0.0.1, the ranks meeting through the stage's rendezvous store. Killing rank 1 mid-run fails the generation, and
/// the next one resumes from the last checkpoint on the workers that are free, ending with the same weights as an
/// uninterrupted gang.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class GangTests(ITestOutputHelper output)
{
    private const int Steps = 72; // 48 web images, a global batch of 8: 6 steps an epoch, 12 epochs
    private static readonly TimeSpan HeartbeatTimeout = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);

    // The retry comes before the heartbeat timeout declares the killed worker lost: the scheduler still skips it, since a
    // failed gang's workers get nothing until each is heard again.
    private static readonly string Dag = """
        name: e2e-gang
        stages:
          - id: data
            kind: dataset.synthetic
            config: { images: 48, human_images: 8, test_images: 8, seed: 7 }
          - id: pretrain
            kind: blip.pretrain
            inputs: { train: data.web }
            config: { preset: tiny, epochs: 12, batch_size: 8, checkpoint_every_steps: 8, seed: 3 }
            resources: { workers: 2 }
            retry: { initial_backoff: 1s }
        """;

    [ServerFact(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob)]
    public async Task Killing_rank_1_fails_the_generation_and_the_gang_resumes_from_its_checkpoint_to_the_uninterrupted_weights()
    {
        await using var e2e = await EndToEndEnvironment.StartAsync(output);
        var (_, api) = await e2e.StartSiloAsync("silo", SiloPorts.Free(), HeartbeatTimeout);
        var (rank0, rank1, spare) = (e2e.WorkerId(1), e2e.WorkerId(2), e2e.WorkerId(3));
        e2e.StartTrainingWorker(rank0);
        var doomed = e2e.StartTrainingWorker(rank1);

        // Uninterrupted: the gang trains all its steps in one generation.
        var straightId = await api.SubmitAsync(Dag);
        var straight = await api.WaitForEndAsync(straightId, Timeout);
        Assert.Equal(ExperimentStatus.Succeeded, straight.Status);
        var straightAttempt = Assert.Single(Pretrain(straight).Attempts);
        Assert.Equal([rank0, rank1], straightAttempt.WorkerIds);
        Assert.Equal(Steps, straightAttempt.LastCheckpoint!.Step);
        var expected = await WeightsAsync(e2e, Pretrain(straight).Outputs["checkpoint"].Uri);

        // Interrupted: rank 1's process is killed after the first checkpoint.
        var id = await api.SubmitAsync(Dag);
        await api.WaitForAsync(id, "a checkpoint of the gang", view => Pretrain(view).LastCheckpoint is not null, Timeout);
        doomed.Kill();
        var killedAt = DateTimeOffset.UtcNow;
        e2e.Log($"killed {rank1}");
        var failed = await api.WaitForAsync(id, "the generation's end", view => Pretrain(view).Attempts[0].Outcome is not null, Timeout);
        var lost = Pretrain(failed).Attempts[0];
        e2e.Log($"generation 1 ended: {lost.Error}");
        e2e.StartTrainingWorker(spare);
        var ended = await api.WaitForEndAsync(id, Timeout);

        Assert.Equal(ExperimentStatus.Succeeded, ended.Status);
        var attempts = Pretrain(ended).Attempts;
        Assert.Equal(2, attempts.Count);
        Assert.Equal(StageStatus.Failed, lost.Outcome);
        Assert.True(lost.Retryable);
        // Rank 0 learns of the loss from its collectives at once, long before the heartbeat timeout declares rank 1 lost.
        Assert.StartsWith("the gang's collectives failed: ", lost.Error, StringComparison.Ordinal);
        Assert.True(lost.EndedAt - killedAt < TimeSpan.FromSeconds(15), $"the generation ended {lost.EndedAt - killedAt} after the kill");
        var resumed = attempts[1];
        Assert.Equal(StageStatus.Succeeded, resumed.Outcome);
        Assert.Equal(lost.LastCheckpoint, resumed.ResumedFrom);
        Assert.Equal([rank0, spare], resumed.WorkerIds);
        Assert.Equal(expected, await WeightsAsync(e2e, Pretrain(ended).Outputs["checkpoint"].Uri));
        e2e.Passed();
    }

    private static StageView Pretrain(ExperimentView view) => view.Stages.Single(stage => stage.Id == "pretrain");

    /// <summary>Every tensor of the checkpoint's weights file, by name, as its raw bytes (the safetensors layout: a length, a JSON header, the data).</summary>
    private static async Task<Dictionary<string, string>> WeightsAsync(EndToEndEnvironment e2e, string manifestUri)
    {
        var file = (await e2e.ArtifactFile(manifestUri, "model.safetensors").DownloadContentAsync()).Value.Content.ToArray();
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        using var header = JsonDocument.Parse(file.AsMemory(8, headerLength));
        var data = 8 + headerLength;
        return header.RootElement.EnumerateObject()
            .Where(entry => entry.Name != "__metadata__")
            .ToDictionary(
                entry => entry.Name,
                entry =>
                {
                    var offsets = entry.Value.GetProperty("data_offsets");
                    var (start, end) = (offsets[0].GetInt32(), offsets[1].GetInt32());
                    return Convert.ToHexString(file.AsSpan(data + start, end - start));
                });
    }
}
