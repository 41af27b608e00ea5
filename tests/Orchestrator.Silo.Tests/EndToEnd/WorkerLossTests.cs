using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Stages;
using Xunit.Abstractions;

namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>A worker process killed mid-run: its run is declared lost and resumes on another worker from the last checkpoint.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class WorkerLossTests(ITestOutputHelper output)
{
    private const int PretrainSteps = 40;

    /// <summary>The test runners' checkpoint file (Trainer.Worker.TestHost's SteppingRunner.StateFile).</summary>
    private const string SteppingRunnerStateFile = "state.json";
    private static readonly TimeSpan HeartbeatTimeout = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [ServerFact(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob)]
    public async Task A_run_on_a_killed_worker_is_declared_lost_and_resumes_from_its_last_checkpoint_on_another_worker()
    {
        await using var e2e = await EndToEndEnvironment.StartAsync(output);
        var (_, api) = await e2e.StartSiloAsync("silo", SiloPorts.Free(), HeartbeatTimeout);
        var (first, second) = (e2e.WorkerId(1), e2e.WorkerId(2));
        var doomed = e2e.StartWorker(first);
        var id = await api.SubmitAsync(Dags.DataThenPretrain(PretrainSteps));

        await api.WaitForAsync(id, "a checkpoint of pretrain", view => Pretrain(view).LastCheckpoint is not null, Timeout);
        doomed.Kill();
        e2e.Log($"killed {first}");
        e2e.StartWorker(second);
        var ended = await api.WaitForEndAsync(id, Timeout);

        Assert.Equal(ExperimentStatus.Succeeded, ended.Status);
        Assert.Single(ended.Stages.Single(stage => stage.Id == "data").Attempts);
        var attempts = Pretrain(ended).Attempts;
        Assert.Equal(2, attempts.Count);
        var (lost, resumed) = (attempts[0], attempts[1]);
        Assert.Equal(StageStatus.Failed, lost.Outcome);
        Assert.True(lost.Retryable);
        Assert.Equal($"worker {first} was lost: no heartbeat for 4 s", lost.Error);
        Assert.Equal([first], lost.WorkerIds);
        Assert.NotNull(lost.LastCheckpoint);

        Assert.Equal(StageStatus.Succeeded, resumed.Outcome);
        Assert.Equal([second], resumed.WorkerIds);
        Assert.Equal(lost.LastCheckpoint, resumed.ResumedFrom);
        var checkpointStep = resumed.ResumedFrom!.Step!.Value;
        Assert.Equal(checkpointStep, resumed.Metrics["resumed_from_step"]);
        Assert.Equal(PretrainSteps - checkpointStep, resumed.Metrics["executed_steps"]);
        Assert.True(resumed.Metrics["executed_steps"] < PretrainSteps);
        Assert.Equal(Dags.ValueAfter(PretrainSteps), resumed.Metrics["value"]);

        // What the runner wrote into its output says the same.
        var result = await e2e.ReadRunnerResultAsync(Pretrain(ended).Outputs["checkpoint"].Uri);
        Assert.Equal(resumed.RunId, result.GetProperty("runId").GetString());
        Assert.Equal(checkpointStep, result.GetProperty("resumedFromStep").GetInt64());
        Assert.Equal(PretrainSteps - checkpointStep, result.GetProperty("executedSteps").GetInt64());
        e2e.Passed();
    }

    [ServerFact(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob)]
    public async Task A_checkpoint_corrupted_in_blob_storage_is_detected_and_the_retry_resumes_from_the_previous_good_one()
    {
        await using var e2e = await EndToEndEnvironment.StartAsync(output);
        var (_, api) = await e2e.StartSiloAsync("silo", SiloPorts.Free(), HeartbeatTimeout);
        var (first, second) = (e2e.WorkerId(1), e2e.WorkerId(2));
        var doomed = e2e.StartWorker(first);
        var id = await api.SubmitAsync(Dags.DataThenPretrain(PretrainSteps));
        await api.WaitForAsync(id, "two checkpoints of pretrain", view => Pretrain(view).LastCheckpoint?.Step >= 10, Timeout);
        doomed.Kill();
        e2e.Log($"killed {first}");

        // The retry is queued with the last checkpoint, and no worker is there to take it yet: corrupt that checkpoint.
        var queued = await api.WaitForAsync(id, "a second attempt of pretrain", view => Pretrain(view).Attempts.Count == 2, Timeout);
        var corrupt = Pretrain(queued).Attempts[1].ResumedFrom!;
        await FlipByteAsync(e2e, corrupt.Uri, SteppingRunnerStateFile);
        e2e.Log($"corrupted {corrupt.Uri}");
        var rescuer = e2e.StartWorker(second);
        var ended = await api.WaitForEndAsync(id, Timeout);

        Assert.Equal(ExperimentStatus.Succeeded, ended.Status);
        var resumed = Pretrain(ended).Attempts[1];
        Assert.Equal(StageStatus.Succeeded, resumed.Outcome);
        Assert.Equal(corrupt, resumed.ResumedFrom);
        var previousGood = corrupt.Step!.Value - 5;
        Assert.Equal(previousGood, resumed.Metrics["resumed_from_step"]);
        Assert.Equal(PretrainSteps - previousGood, resumed.Metrics["executed_steps"]);
        Assert.Equal(Dags.ValueAfter(PretrainSteps), resumed.Metrics["value"]);
        Assert.True(rescuer.Printed($"Checkpoint {corrupt.Uri} (step {corrupt.Step}) cannot be resumed from: artifact {corrupt.Uri} is corrupt"));
        Assert.True(rescuer.Printed($"(step {previousGood}) instead of {corrupt.Uri} (step {corrupt.Step})"));
        e2e.Passed();
    }

    private static StageView Pretrain(ExperimentView view) => view.Stages.Single(stage => stage.Id == "pretrain");

    /// <summary>Overwrites one file of the artifact whose manifest is at <paramref name="manifestUri"/> with one byte changed.</summary>
    private static async Task FlipByteAsync(EndToEndEnvironment e2e, string manifestUri, string file)
    {
        var blob = e2e.ArtifactFile(manifestUri, file);
        var bytes = (await blob.DownloadContentAsync()).Value.Content.ToArray();
        bytes[0] ^= 0x01;
        await blob.UploadAsync(BinaryData.FromBytes(bytes), overwrite: true);
    }
}
