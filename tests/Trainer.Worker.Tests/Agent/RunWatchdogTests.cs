using Orchestrator.Contracts.Messages;
using Trainer.Worker.Tests.Observability;

namespace Trainer.Worker.Tests.Agent;

/// <summary>The progress watchdog (Worker:ProgressTimeout) on fake time: a run without progress is failed as retryable, a run that beats is left alone.</summary>
public sealed class RunWatchdogTests
{
    private const string Instrument = "trainer.run.watchdog.aborts";
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    private static readonly string StalledError =
        $"no progress for {WorkerHarness.ProgressTimeout} (no training step, evaluation batch, decoded shard or checkpoint); retried from the last checkpoint. " +
        "If this run's units of work take longer, raise Worker:ProgressTimeout";

    [Fact]
    public async Task A_run_that_stops_making_progress_is_failed_as_retryable_exactly_the_timeout_later_from_its_last_checkpoint()
    {
        await using var worker = await WorkerHarness.StartAsync();
        using var recorder = new MeterRecorder(worker.Metrics.Meter);
        worker.Script.HoldBeforeStep = 2;
        worker.Script.CheckpointEvery = 1;
        worker.Script.IgnoreCancellationWhileHeld = true;

        await worker.SendAsync(WorkerHarness.Run("run-1"));
        await worker.WaitAsync(worker.Script.Gate("run-1").Reached.Task);
        var saved = await worker.PublishedAsync<CheckpointSaved>(message => message.RunId == "run-1");

        worker.Time.Advance(WorkerHarness.ProgressTimeout - Tick);
        Assert.Empty(recorder.Recorded(Instrument));
        Assert.Equal(["run-1"], worker.Agent.ActiveRunIds);

        worker.Time.Advance(Tick);
        Assert.Equal([new(Instrument, 1, "kind=dataset.synthetic")], recorder.Recorded(Instrument));
        var failed = await worker.PublishedAsync<StageRunFailed>(message => message.RunId == "run-1");
        Assert.Equal((StalledError, true), (failed.Error, failed.Retryable));
        Assert.Equal(saved.Checkpoint, failed.LastCheckpoint);
        Assert.Contains(worker.Logs.Lines, line => line.Message == "The run made no progress for 00:10:00 (Worker:ProgressTimeout); failing it as retryable");

        // The hung runner comes back late: its run was reported, nothing more goes out.
        worker.Script.Gate("run-1").Release.SetResult();
        await worker.RunEndedAsync("run-1");
        Assert.Single(worker.PublishedSoFar<StageRunFailed>());
        Assert.Empty(worker.PublishedSoFar<StageRunCompleted>());
        Assert.Empty(worker.Agent.ActiveRunIds);
    }

    [Fact]
    public async Task A_run_that_keeps_beating_is_not_failed_and_the_timeout_counts_from_its_last_beat()
    {
        await using var worker = await WorkerHarness.StartAsync();
        using var recorder = new MeterRecorder(worker.Metrics.Meter);
        worker.Script.HoldBeforeStep = 2;
        var gate = worker.Script.Gate("run-1");

        await worker.SendAsync(WorkerHarness.Run("run-1"));
        await worker.WaitAsync(gate.Reached.Task);

        // Three timeouts long, with a beat every half timeout.
        for (var beat = 0; beat < 6; beat++)
        {
            worker.Time.Advance(WorkerHarness.ProgressTimeout / 2);
            await worker.WaitAsync(gate.BeatAsync());
        }

        Assert.Empty(recorder.Recorded(Instrument));
        worker.Time.Advance(WorkerHarness.ProgressTimeout - Tick);
        Assert.Empty(recorder.Recorded(Instrument));
        Assert.Empty(worker.PublishedSoFar<StageRunFailed>());

        gate.Release.SetResult();
        var completed = await worker.PublishedAsync<StageRunCompleted>(message => message.RunId == "run-1");
        Assert.Equal(3, completed.Metrics["steps"]);
        worker.Time.Advance(WorkerHarness.ProgressTimeout);
        Assert.Empty(recorder.Recorded(Instrument));
        Assert.Empty(worker.PublishedSoFar<StageRunFailed>());
    }

    [Fact]
    public async Task A_run_that_beats_then_stalls_is_failed_the_timeout_after_its_last_beat()
    {
        await using var worker = await WorkerHarness.StartAsync();
        using var recorder = new MeterRecorder(worker.Metrics.Meter);
        worker.Script.HoldBeforeStep = 2;
        var gate = worker.Script.Gate("run-1");

        await worker.SendAsync(WorkerHarness.Run("run-1"));
        await worker.WaitAsync(gate.Reached.Task);
        worker.Time.Advance(WorkerHarness.ProgressTimeout * 3 / 4);
        await worker.WaitAsync(gate.BeatAsync());

        worker.Time.Advance(WorkerHarness.ProgressTimeout - Tick);
        Assert.Empty(recorder.Recorded(Instrument));
        worker.Time.Advance(Tick);
        Assert.Single(recorder.Recorded(Instrument));

        var failed = await worker.PublishedAsync<StageRunFailed>(message => message.RunId == "run-1");
        Assert.Equal((StalledError, true), (failed.Error, failed.Retryable));
        Assert.Null(failed.LastCheckpoint);
        await worker.RunEndedAsync("run-1");

        // The runner stopped on the cancellation; the checkpoint it tried to save on its way out came after the abort.
        Assert.True(gate.Exited.Task.IsCompleted);
        Assert.Empty(worker.PublishedSoFar<CheckpointSaved>());
        Assert.Single(worker.PublishedSoFar<StageRunFailed>());
    }
}
