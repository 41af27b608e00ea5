using System.Diagnostics;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Stages;
using Xunit.Abstractions;

namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>
/// A worker process told to stop (SIGTERM, as Kubernetes stops a pod) mid-run: it exits within Worker:StopTimeout, its run
/// reported failed and retryable with the checkpoint it saved on the way out, and the retry resumes from that checkpoint.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class WorkerStopTests(ITestOutputHelper output)
{
    /// <summary>Worker:StopTimeout's default: the bound on a stopping worker, below Kubernetes' 30 s.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan HeartbeatTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>
    /// Real training, tiny: 64 images, batches of 8, far more steps than the test waits for and no periodic checkpoint,
    /// so the only checkpoint is the one the stop wrote.
    /// </summary>
    private const string TrainingDag = """
        name: e2e-stop-training
        stages:
          - id: data
            kind: dataset.synthetic
            config: { images: 64, human_images: 8, test_images: 8, image_size: 32, web_noise: 0.0, seed: 7 }
          - id: pretrain
            kind: blip.pretrain
            inputs: { train: data.web }
            config: { preset: tiny, max_steps: 5000, batch_size: 8, queue_size: 32, warmup_steps: 5, checkpoint_every_steps: 100000 }
            retry: { initial_backoff: 1s }
        """;

    [ServerFact(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob)]
    public async Task A_training_worker_sent_sigterm_exits_within_the_bound_with_a_checkpoint_and_the_retry_resumes_from_its_step()
    {
        await using var e2e = await EndToEndEnvironment.StartAsync(output);
        var (_, api) = await e2e.StartSiloAsync("silo", SiloPorts.Free(), HeartbeatTimeout);
        var (first, second) = (e2e.WorkerId(1), e2e.WorkerId(2));
        var stopped = e2e.StartTrainingWorker(first);
        var id = await api.SubmitAsync(TrainingDag);

        await api.WaitForAsync(id, "pretrain training", view => Pretrain(view).Progress?.Step >= 3, Timeout);
        stopped.Terminate();
        var clock = Stopwatch.StartNew();
        Assert.True(await stopped.WaitForExitAsync(StopTimeout), $"{first} was still running {StopTimeout.TotalSeconds:0} s after SIGTERM");
        e2e.Log($"{first} exited {clock.Elapsed.TotalSeconds:0.0} s after SIGTERM, with {stopped.ExitCode}");
        Assert.Equal(0, stopped.ExitCode);

        var failed = await api.WaitForAsync(id, "the stopped attempt's report", view => Pretrain(view).Attempts[0].Outcome == StageStatus.Failed, Timeout);
        var lost = Pretrain(failed).Attempts[0];
        Assert.Equal("worker shutting down", lost.Error);
        Assert.True(lost.Retryable);
        var checkpoint = lost.LastCheckpoint ?? throw new Xunit.Sdk.XunitException("the stopped attempt reported no checkpoint");
        var step = checkpoint.Step!.Value;
        Assert.True(step >= 3, $"the stop's checkpoint is at step {step}, before the progress the test saw");
        Assert.True(stopped.Printed($"Checkpoint at step {step} saved as {checkpoint.Uri}"));
        var saved = stopped.Lines.ToList().FindIndex(line => line.Contains($"Checkpoint at step {step} saved", StringComparison.Ordinal));
        var reported = stopped.Lines.ToList().FindIndex(line => line.Contains("Run failed (retryable): worker shutting down", StringComparison.Ordinal));
        Assert.InRange(saved, 0, reported - 1);
        Assert.True(stopped.Printed($"Worker {first} deregistered"));

        var rescuer = e2e.StartTrainingWorker(second);
        var resumedLine = await rescuer.WaitForLineAsync("Resumed at step", Timeout);
        Assert.Contains($"Resumed at step {step} (epoch ", resumedLine, StringComparison.Ordinal);
        var resumed = await api.WaitForAsync(id, "the retry running", view => Pretrain(view).Attempts is [_, { WorkerIds: [_] }], Timeout);
        var retry = Pretrain(resumed).Attempts[1];
        Assert.Equal(checkpoint, retry.ResumedFrom);
        Assert.Equal([second], retry.WorkerIds);
        e2e.Passed();
    }

    [ServerFact(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob)]
    public async Task A_worker_whose_run_ignores_the_stop_exits_within_the_bound_and_reports_the_run_from_its_last_checkpoint()
    {
        await using var e2e = await EndToEndEnvironment.StartAsync(output);
        var (_, api) = await e2e.StartSiloAsync("silo", SiloPorts.Free(), HeartbeatTimeout);
        var worker = e2e.WorkerId(1);

        // Steps that block their thread and never look at the run's token; Worker:DrainTimeout is 5 s.
        var stuck = e2e.StartWorker(worker, "00:00:00.200", "--TestRunners:IgnoreStop=true");
        var id = await api.SubmitAsync(Dags.DataThenPretrain(400));
        var started = await api.WaitForAsync(id, "a checkpoint of pretrain", view => Pretrain(view).LastCheckpoint is not null, Timeout);

        stuck.Terminate();
        var clock = Stopwatch.StartNew();
        Assert.True(await stuck.WaitForExitAsync(StopTimeout), $"{worker} was still running {StopTimeout.TotalSeconds:0} s after SIGTERM");
        e2e.Log($"{worker} exited {clock.Elapsed.TotalSeconds:0.0} s after SIGTERM, with {stuck.ExitCode}");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(5), "the worker exited before its drain timeout");
        Assert.True(stuck.Printed("The run did not stop within 00:00:05; reporting it from its last checkpoint"));

        var failed = await api.WaitForAsync(id, "the stopped attempt's report", view => Pretrain(view).Attempts[0].Outcome == StageStatus.Failed, Timeout);
        var attempt = Pretrain(failed).Attempts[0];
        Assert.Equal("worker shutting down", attempt.Error);
        Assert.True(attempt.Retryable);
        Assert.NotNull(attempt.LastCheckpoint);
        Assert.True(attempt.LastCheckpoint.Step >= Pretrain(started).LastCheckpoint!.Step);
        Assert.Equal(0, attempt.LastCheckpoint.Step % 5);
        Assert.Equal(ExperimentStatus.Running, failed.Status);
        e2e.Passed();
    }

    private static StageView Pretrain(ExperimentView view) => view.Stages.Single(stage => stage.Id == "pretrain");
}
