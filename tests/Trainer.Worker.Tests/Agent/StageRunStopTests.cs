using Orchestrator.Contracts.Messages;
using Trainer.Worker.Agent;

namespace Trainer.Worker.Tests.Agent;

public sealed class StageRunStopTests
{
    [Fact]
    public async Task Cancel_saves_a_checkpoint_then_reports_a_permanent_failure_with_the_reason()
    {
        await using var worker = await WorkerHarness.StartAsync();
        worker.Script.HoldBeforeStep = 2;
        worker.Script.CheckpointEvery = 10;

        await worker.SendAsync(WorkerHarness.Run("run-1"));
        await worker.WaitAsync(worker.Script.Gate("run-1").Reached.Task);
        await worker.SendAsync(WorkerHarness.Cancel("run-1", "stopped by alice"));
        var failed = await worker.PublishedAsync<StageRunFailed>(message => message.RunId == "run-1");

        Assert.False(failed.Retryable);
        Assert.Equal("cancelled: stopped by alice", failed.Error);
        var saved = Assert.Single(worker.PublishedSoFar<CheckpointSaved>());
        Assert.Equal(1, saved.Step);
        Assert.Equal(saved.Checkpoint, failed.LastCheckpoint);
        var checkpoint = await worker.Store.FetchAsync(saved.Checkpoint);
        Assert.Equal("1", await File.ReadAllTextAsync(Path.Combine(checkpoint.Directory, CheckpointingRunner.StepFile)));
        Assert.Empty(worker.PublishedSoFar<StageRunCompleted>());
        Assert.True(worker.Script.Gate("run-1").Exited.Task.IsCompleted);
    }

    [Fact]
    public async Task A_published_cancel_reaches_the_worker_as_well_as_a_sent_one()
    {
        await using var worker = await WorkerHarness.StartAsync();
        worker.Script.HoldBeforeStep = 1;

        await worker.SendAsync(WorkerHarness.Run("run-1"));
        await worker.WaitAsync(worker.Script.Gate("run-1").Reached.Task);
        await worker.Bus.Bus.Publish(WorkerHarness.Cancel("run-1", "experiment cancelled"));
        var failed = await worker.PublishedAsync<StageRunFailed>(message => message.RunId == "run-1");

        Assert.Equal(("cancelled: experiment cancelled", false), (failed.Error, failed.Retryable));
    }

    [Fact]
    public async Task Cancelling_a_queued_run_reports_it_without_starting_it_and_frees_its_place()
    {
        await using var worker = await WorkerHarness.StartAsync();
        worker.Script.HoldBeforeStep = 1;

        await worker.SendAsync(WorkerHarness.Run("run-a"));
        await worker.WaitAsync(worker.Script.Gate("run-a").Reached.Task);
        await worker.SendAsync(WorkerHarness.Run("run-b"));
        await worker.SendAsync(WorkerHarness.Cancel("run-b", "not needed"));
        var failed = await worker.PublishedAsync<StageRunFailed>(message => message.RunId == "run-b");

        Assert.Equal(("cancelled: not needed", false), (failed.Error, failed.Retryable));
        Assert.Null(failed.LastCheckpoint);
        Assert.False(await worker.Agent.CancelAsync(WorkerHarness.Cancel("run-b", "again")));
        Assert.False(await worker.Agent.CancelAsync(WorkerHarness.Cancel("run-unknown", "never sent")));

        worker.Script.Gate("run-a").Release.SetResult();
        worker.Script.Gate("run-c").Release.SetResult();
        await worker.SendAsync(WorkerHarness.Run("run-c"));
        await worker.PublishedAsync<StageRunCompleted>(message => message.RunId == "run-c");

        Assert.Equal(["run-a", "run-c"], worker.Script.Entered);
        Assert.Empty(worker.PublishedSoFar<StageRunStarted>(message => message.RunId == "run-b"));
    }

    [Fact]
    public async Task Stopping_drains_every_run_with_a_checkpoint_reports_them_retryable_then_deregisters()
    {
        await using var worker = await WorkerHarness.StartAsync();
        worker.Script.HoldBeforeStep = 2;
        worker.Script.CheckpointEvery = 10;
        await worker.PublishedAsync<RegisterWorker>();

        await worker.SendAsync(WorkerHarness.Run("run-a"));
        await worker.WaitAsync(worker.Script.Gate("run-a").Reached.Task);
        await worker.SendAsync(WorkerHarness.Run("run-b"));
        await worker.ConsumedAsync<StartStageRun>("run-b");
        await worker.WaitAsync(worker.Agent.StopAsync(CancellationToken.None));

        var failedA = Assert.Single(worker.PublishedSoFar<StageRunFailed>(message => message.RunId == "run-a"));
        Assert.Equal(("worker shutting down", true), (failedA.Error, failedA.Retryable));
        var saved = Assert.Single(worker.PublishedSoFar<CheckpointSaved>());
        Assert.Equal(("run-a", 1L), (saved.RunId, saved.Step));
        Assert.Equal(saved.Checkpoint, failedA.LastCheckpoint);

        var failedB = Assert.Single(worker.PublishedSoFar<StageRunFailed>(message => message.RunId == "run-b"));
        Assert.Equal(("worker shutting down", true), (failedB.Error, failedB.Retryable));
        Assert.Null(failedB.LastCheckpoint);
        Assert.Equal(["run-a"], worker.Script.Entered);

        var published = worker.PublishedSoFar();
        var deregister = Assert.IsType<DeregisterWorker>(published[^1]);
        Assert.Equal(WorkerHarness.WorkerId, deregister.WorkerId);
        Assert.Single(published.OfType<DeregisterWorker>());
        Assert.Empty(worker.Agent.ActiveRunIds);

        Assert.Equal(RunAcceptance.Refused, await worker.Agent.AcceptAsync(WorkerHarness.Run("run-c")));
        var refused = await worker.PublishedAsync<StageRunFailed>(message => message.RunId == "run-c");
        Assert.Equal(("worker shutting down", true), (refused.Error, refused.Retryable));
        Assert.Equal(["run-a"], worker.Script.Entered);
    }

    [Fact]
    public async Task A_run_that_ignores_cancellation_is_reported_once_after_the_drain_timeout()
    {
        await using var worker = await WorkerHarness.StartAsync();
        worker.Script.HoldBeforeStep = 2;
        worker.Script.IgnoreCancellationWhileHeld = true;
        await worker.PublishedAsync<RegisterWorker>();

        await worker.SendAsync(WorkerHarness.Run("run-1"));
        await worker.WaitAsync(worker.Script.Gate("run-1").Reached.Task);
        var stop = worker.Agent.StopAsync(CancellationToken.None);

        // While the run is stopping, the worker still says it is alive and still has the run.
        worker.Time.Advance(WorkerHarness.HeartbeatInterval);
        Assert.Equal(["run-1"], (await worker.HeartbeatAsync(1)).ActiveRunIds);
        Assert.False(stop.IsCompleted);

        worker.Time.Advance(WorkerHarness.DrainTimeout - WorkerHarness.HeartbeatInterval);
        await worker.WaitAsync(stop);

        var failed = Assert.Single(worker.PublishedSoFar<StageRunFailed>());
        Assert.Equal(("run-1", "worker shutting down", true), (failed.RunId, failed.Error, failed.Retryable));
        Assert.Null(failed.LastCheckpoint);
        Assert.IsType<DeregisterWorker>(worker.PublishedSoFar()[^1]);

        // The stuck runner comes back late; its run was already reported, so nothing more goes out.
        worker.Script.Gate("run-1").Release.SetResult();
        await worker.RunEndedAsync("run-1");
        Assert.Single(worker.PublishedSoFar<StageRunFailed>());
        Assert.Empty(worker.PublishedSoFar<StageRunCompleted>());
    }
}
