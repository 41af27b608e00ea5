using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Scheduling;
using Orchestrator.Grains.Stages;
using Orleans.Core.Internal;

namespace Orchestrator.Grains.Tests.Lifecycle;

/// <summary>
/// Grains tell each other one way, and a one-way message can be lost. Nothing periodic runs per experiment to make up
/// for it: each lost message is sent again until acknowledged, or asked for by its receiver, and an experiment that only
/// waits holds no reminder (docs/decisions/reminders-when-due.md). Each test here loses one message on purpose.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LostMessagesTests(ClusterFixture fixture)
{
    private const string TwoStages = """
        - { id: data, kind: dataset.synthetic }
        - { id: pretrain, kind: blip.pretrain, inputs: { train: data.web } }
        """;

    private readonly LifecycleDriver _driver = new(fixture);

    [Fact]
    public async Task A_lost_stage_change_is_sent_again_until_the_experiment_acknowledges_it_and_the_experiment_finishes()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = $"exp-{_driver.Label}";
        var lost = ClusterFixture.Drops.DropNext(_driver.Experiment(id).GetGrainId(), nameof(IExperimentGrain.OnStageChangedAsync),
            arguments => arguments[0] is StageChange { StageId: "data", Status: StageStatus.Succeeded });
        await _driver.SubmitAsync(TwoStages);

        await _driver.CompleteAsync(await _driver.Dispatcher.WaitForStartAsync(id, "data"));
        await lost.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(StageStatus.Pending, (await _driver.Stage(id, "pretrain").GetAsync()).Status);

        // The stage sends its success again once the acknowledgement is overdue; the experiment then queues pretrain.
        await _driver.CompleteAsync(await _driver.Dispatcher.WaitForStartAsync(id, "pretrain"));
        var view = await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);
        Assert.All(view.Stages, stage => Assert.Single(stage.Attempts));

        // Each stage's start and success, and data's success once more: the copy that was lost is counted as it arrived.
        Assert.Equal(5, ClusterFixture.Calls.Count(_driver.Experiment(id).GetGrainId(), nameof(IExperimentGrain.OnStageChangedAsync)));
    }

    [Fact]
    public async Task A_stage_that_missed_its_assignment_learns_it_from_its_first_report_and_a_restarted_scheduler_does_not_place_it_twice()
    {
        await _driver.RegisterWorkerAsync("w1", slots: 1);
        var id = $"exp-{_driver.Label}";
        var lost = ClusterFixture.Drops.DropNext(_driver.Stage(id, "data").GetGrainId(), nameof(IStageGrain.OnRunAssignedAsync));
        await _driver.SubmitAsync("- { id: data, kind: dataset.synthetic }");
        var run = await _driver.Dispatcher.WaitForStartAsync(id, "data");
        await lost.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Null((await _driver.Stage(run).GetAsync()).Attempts.Single().AssignedAt);

        await _driver.Stage(run).ReportStartedAsync(new RunStartedReport(run.Run.RunId, run.WorkerIds[0]));
        var attempt = (await _driver.Stage(run).GetAsync()).Attempts.Single();
        Assert.Equal(run.AssignedAt, attempt.AssignedAt);
        Assert.Equal(run.WorkerIds, attempt.WorkerIds);

        // The scheduler loses its memory: the stage announces its run as out on w1, not as queued.
        await _driver.Scheduler.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await _driver.RegisterWorkerAsync("w1", slots: 1, kinds: null, run.Run.RunId);
        await WaitForWorkerAsync("w1", worker => worker.RunIds.SequenceEqual([run.Run.RunId]));

        await _driver.CompleteAsync(run);
        var view = await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);
        Assert.Single(LifecycleDriver.StageOf(view, "data").Attempts);
        Assert.Single(_driver.Dispatcher.StartedFor(id));
    }

    [Fact]
    public async Task A_lost_run_loss_is_told_again_at_the_next_check_and_the_run_is_retried()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = await _driver.SubmitAsync("- { id: data, kind: dataset.synthetic }");
        var first = await _driver.Dispatcher.WaitForStartAsync(id, "data");
        await _driver.Stage(first).ReportStartedAsync(new RunStartedReport(first.Run.RunId, first.WorkerIds[0]));

        var lost = ClusterFixture.Drops.DropNext(_driver.Stage(first).GetGrainId(), nameof(IStageGrain.OnRunLostAsync));
        ClusterFixture.Time.Advance(ClusterFixture.HeartbeatTimeout + TimeSpan.FromSeconds(1));
        await _driver.RegisterWorkerAsync("w2");
        await _driver.Scheduler.CheckWorkersAsync();
        await lost.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(StageStatus.Running, (await _driver.Stage(first).GetAsync()).Status);

        // Not acknowledged: the next check after the wait tells the stage again.
        ClusterFixture.Time.Advance(Redelivery.FirstWait);
        await _driver.Scheduler.CheckWorkersAsync();
        var retrying = await _driver.WaitForAsync(id, view => LifecycleDriver.StageOf(view, "data").RetryAt is not null);
        Assert.Equal((StageStatus.Failed, true), (LifecycleDriver.StageOf(retrying, "data").Attempts[0].Outcome, LifecycleDriver.StageOf(retrying, "data").Attempts[0].Retryable));

        ClusterFixture.Time.Advance(TimeSpan.FromSeconds(10));
        await _driver.TickRetryAsync(id, "data");
        await _driver.CompleteAsync(await _driver.Dispatcher.WaitForStartAsync(id, "data", attempt: 2));
        var view = await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);
        Assert.Equal(2, LifecycleDriver.StageOf(view, "data").Attempts.Count);

        // Acknowledged: later checks tell it nothing more.
        var told = ClusterFixture.Calls.Count(_driver.Stage(first).GetGrainId(), nameof(IStageGrain.OnRunLostAsync));
        ClusterFixture.Time.Advance(Redelivery.LongestWait);
        await _driver.Scheduler.CheckWorkersAsync();
        Assert.Equal(told, ClusterFixture.Calls.Count(_driver.Stage(first).GetGrainId(), nameof(IStageGrain.OnRunLostAsync)));
    }

    [Fact]
    public async Task A_lost_catch_up_is_asked_again_and_the_restarted_scheduler_gets_the_experiments_runs_back()
    {
        await _driver.RegisterWorkerAsync("w1", slots: 1);
        var id = await _driver.SubmitAsync("""
            - { id: a, kind: dataset.synthetic }
            - { id: b, kind: dataset.synthetic }
            """);
        var running = await _driver.Dispatcher.WaitForStartAsync(id, "a");
        await _driver.Stage(running).ReportStartedAsync(new RunStartedReport(running.Run.RunId, running.WorkerIds[0]));
        var queuedRunId = (await _driver.Stage(id, "b").GetAsync()).Attempts.Single().RunId;

        var lost = ClusterFixture.Drops.DropNext(_driver.Experiment(id).GetGrainId(), nameof(IExperimentGrain.CatchUpAsync));
        await _driver.Scheduler.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await _driver.RegisterWorkerAsync("w1", slots: 1, kinds: null, running.Run.RunId);
        await lost.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Empty((await _driver.Scheduler.GetSnapshotAsync()).Workers.Single(worker => worker.WorkerId == _driver.WorkerId("w1")).RunIds);

        // Unanswered for half the time assignments are held back for it (the heartbeat timeout): the next check asks again.
        ClusterFixture.Time.Advance(ClusterFixture.HeartbeatTimeout / 2 - TimeSpan.FromSeconds(1));
        await _driver.Scheduler.CheckWorkersAsync();
        Assert.Equal(1, ClusterFixture.Calls.Count(_driver.Experiment(id).GetGrainId(), nameof(IExperimentGrain.CatchUpAsync)));
        ClusterFixture.Time.Advance(TimeSpan.FromSeconds(1));
        await _driver.RegisterWorkerAsync("w1", slots: 1, kinds: null, running.Run.RunId);
        await _driver.Scheduler.CheckWorkersAsync();
        await WaitForWorkerAsync("w1", worker => worker.RunIds.SequenceEqual([running.Run.RunId]));

        await _driver.CompleteAsync(running);
        var next = await _driver.Dispatcher.WaitForStartAsync(id, "b");
        Assert.Equal(queuedRunId, next.Run.RunId);
        await _driver.CompleteAsync(next);
        await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);
        Assert.Equal(2, _driver.Dispatcher.StartedFor(id).Count);
    }

    [Fact]
    public async Task A_stage_change_lost_with_its_sender_is_recovered_when_a_silo_leaves_the_cluster()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = $"exp-{_driver.Label}";
        var lost = ClusterFixture.Drops.DropNext(_driver.Experiment(id).GetGrainId(), nameof(IExperimentGrain.OnStageChangedAsync),
            arguments => arguments[0] is StageChange { StageId: "data", Status: StageStatus.Succeeded });
        await _driver.SubmitAsync(TwoStages);
        await _driver.CompleteAsync(await _driver.Dispatcher.WaitForStartAsync(id, "data"));
        await lost.WaitAsync(TimeSpan.FromSeconds(5));

        // The stage goes down with the change it was waiting to have acknowledged, as it would with its silo.
        await _driver.Stage(id, "data").Cast<IGrainManagementExtension>().DeactivateOnIdle();
        var silo = await fixture.Cluster.StartAdditionalSiloAsync();
        await fixture.Cluster.StopSiloAsync(silo);

        // The scheduler's next check sees the silo gone and has every running experiment catch up.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while ((await _driver.Stage(id, "pretrain").GetAsync()).Status == StageStatus.Pending)
        {
            Assert.True(DateTime.UtcNow < deadline, "pretrain was never queued");
            await _driver.Scheduler.CheckWorkersAsync();
            await Task.Delay(50);
        }

        await _driver.CompleteAsync(await _driver.Dispatcher.WaitForStartAsync(id, "pretrain"));
        await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);
    }

    [Fact]
    public async Task An_experiment_whose_only_stage_waits_for_workers_holds_no_reminder_and_its_stage_none()
    {
        // No worker of this test's label: the stage waits in the scheduler's queue.
        var id = await _driver.SubmitAsync("- { id: data, kind: dataset.synthetic }");
        var waiting = await _driver.WaitForAsync(id, view => LifecycleDriver.StageOf(view, "data").Status == StageStatus.Queued);
        Assert.Equal(ExperimentStatus.Running, waiting.Status);

        Assert.Empty(await fixture.RemindersOf(_driver.Experiment(id).GetGrainId()));
        Assert.Empty(await fixture.RemindersOf(_driver.Stage(id, "data").GetGrainId()));

        // It still starts when a worker comes.
        await _driver.RegisterWorkerAsync("w1");
        await _driver.CompleteAsync(await _driver.Dispatcher.WaitForStartAsync(id, "data"));
        await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);
        Assert.Empty(await fixture.RemindersOf(_driver.Experiment(id).GetGrainId()));
    }

    private async Task<WorkerView> WaitForWorkerAsync(string name, Func<WorkerView, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var worker = (await _driver.Scheduler.GetSnapshotAsync()).Workers.Single(w => w.WorkerId == _driver.WorkerId(name));
            if (condition(worker))
            {
                return worker;
            }

            Assert.True(DateTime.UtcNow < deadline, $"worker {worker.WorkerId} runs [{string.Join(", ", worker.RunIds)}]");
            await Task.Delay(10);
        }
    }
}
