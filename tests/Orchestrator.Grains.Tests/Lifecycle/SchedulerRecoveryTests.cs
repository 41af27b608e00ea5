using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Scheduling;
using Orchestrator.Grains.Stages;
using Orleans.Core.Internal;

namespace Orchestrator.Grains.Tests.Lifecycle;

[Collection(ClusterCollection.Name)]
public sealed class SchedulerRecoveryTests(ClusterFixture fixture)
{
    private readonly LifecycleDriver _driver = new(fixture);

    [Fact]
    public async Task A_scheduler_that_lost_its_memory_gets_queued_and_running_runs_back_from_their_stages()
    {
        await _driver.RegisterWorkerAsync("w1", slots: 1);
        var id = await _driver.SubmitAsync("""
            - { id: a, kind: dataset.synthetic }
            - { id: b, kind: dataset.synthetic }
            """);
        var running = await _driver.Dispatcher.WaitForStartAsync(id, "a");
        await _driver.Stage(running).ReportStartedAsync(new RunStartedReport(running.Run.RunId, running.WorkerIds[0]));
        var queuedRunId = (await _driver.Stage(id, "b").GetAsync()).Attempts.Single().RunId;

        await _driver.Scheduler.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await _driver.RegisterWorkerAsync("w1", slots: 1, kinds: null, running.Run.RunId);

        // Activation asks running experiments to catch up; their stages announce their runs again.
        var worker = await WaitForWorkerAsync(view => view.RunIds.SequenceEqual([running.Run.RunId]));
        Assert.Equal(0, worker.FreeSlots);

        await _driver.CompleteAsync(running);
        var next = await _driver.Dispatcher.WaitForStartAsync(id, "b");
        Assert.Equal(queuedRunId, next.Run.RunId);
        await _driver.CompleteAsync(next);

        var view = await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);
        Assert.All(view.Stages, stage => Assert.Single(stage.Attempts));
        Assert.Equal(2, _driver.Dispatcher.StartedFor(id).Count);
    }

    [Fact]
    public async Task A_reactivated_scheduler_places_on_workers_it_knows_free_before_every_experiment_caught_up_and_never_places_a_run_twice()
    {
        // An experiment that will not catch up: without it, recovery would end as soon as the first one had.
        var other = new LifecycleDriver(fixture);
        var silent = await other.SubmitAsync("- { id: a, kind: dataset.synthetic }");

        // a runs on w1; b was placed on w2, whose stage missed the assignment; c waits for a slot.
        await _driver.RegisterWorkerAsync("w1", slots: 1);
        await _driver.RegisterWorkerAsync("w2", slots: 1);
        var id = $"exp-{_driver.Label}";
        var missed = ClusterFixture.Drops.DropNext(_driver.Stage(id, "b").GetGrainId(), nameof(IStageGrain.OnRunAssignedAsync));
        await _driver.SubmitAsync("""
            - { id: a, kind: dataset.synthetic }
            - { id: b, kind: dataset.synthetic }
            - { id: c, kind: dataset.synthetic }
            """);
        var a = await _driver.Dispatcher.WaitForStartAsync(id, "a");
        var b = await _driver.Dispatcher.WaitForStartAsync(id, "b");
        await missed.WaitAsync(TimeSpan.FromSeconds(5));
        await _driver.Stage(a).ReportStartedAsync(new RunStartedReport(a.Run.RunId, a.WorkerIds[0]));
        Assert.Equal([_driver.WorkerId("w1")], a.WorkerIds);
        Assert.Equal([_driver.WorkerId("w2")], b.WorkerIds);
        Assert.Null((await _driver.Stage(id, "b").GetAsync()).Attempts.Single().AssignedAt);

        var unanswered = ClusterFixture.Drops.DropNext(other.Experiment(silent).GetGrainId(), nameof(IExperimentGrain.CatchUpAsync));
        await _driver.Scheduler.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await _driver.RegisterWorkerAsync("w1", slots: 1, kinds: null, a.Run.RunId);
        await _driver.RegisterWorkerAsync("w2", slots: 1, kinds: null, b.Run.RunId);
        await unanswered.WaitAsync(TimeSpan.FromSeconds(5));
        await WaitForWorkerAsync("w1", worker => worker.RunIds.SequenceEqual([a.Run.RunId]));
        await WaitForWorkerAsync("w2", worker => worker.RunIds.SequenceEqual([b.Run.RunId]));

        // b is running on w2 as far as its stage knows too, and c takes the slot b's end frees, all while recovering.
        var assigned = await WaitForStageAsync(id, "b", stage => stage.Attempts.Single().AssignedAt is not null);
        Assert.Equal([_driver.WorkerId("w2")], assigned.Attempts.Single().WorkerIds);
        await _driver.CompleteAsync(b);
        var c = await _driver.Dispatcher.WaitForStartAsync(id, "c");
        Assert.Equal([_driver.WorkerId("w2")], c.WorkerIds);
        await _driver.CompleteAsync(a);
        await _driver.CompleteAsync(c);

        var view = await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);
        Assert.All(view.Stages, stage => Assert.Single(stage.Attempts));
        Assert.Equal(3, _driver.Dispatcher.StartedFor(id).Count);
    }

    [Fact]
    public async Task A_reactivated_scheduler_asks_running_experiments_to_catch_up_a_window_at_a_time_and_the_silent_do_not_hold_it()
    {
        // One experiment more than the window, a second apart; the index lists the newest first, so the last four fill the
        // window and never answer.
        var drivers = Enumerable.Range(0, ClusterFixture.CatchUpsInFlight + 1).Select(_ => new LifecycleDriver(fixture)).ToList();
        var ids = new List<string>();
        foreach (var driver in drivers)
        {
            ids.Add(await driver.SubmitAsync("- { id: a, kind: dataset.synthetic }"));
            ClusterFixture.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var oldest = ids[0];
        var silent = ids.Skip(1).ToList();
        var dropped = silent.Select(id => ClusterFixture.Drops.DropNext(_driver.Experiment(id).GetGrainId(), nameof(IExperimentGrain.CatchUpAsync))).ToList();

        await _driver.Scheduler.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await _driver.Scheduler.GetSnapshotAsync();
        await Task.WhenAll(dropped).WaitAsync(TimeSpan.FromSeconds(5));
        await _driver.Scheduler.CheckWorkersAsync();
        Assert.Equal(0, ClusterFixture.Calls.Count(_driver.Experiment(oldest).GetGrainId(), nameof(IExperimentGrain.CatchUpAsync)));

        // Unanswered past their wait, the four leave the window and are asked again, and the next ones go out beside them.
        ClusterFixture.Time.Advance(ClusterFixture.HeartbeatTimeout / 2);
        await _driver.Scheduler.CheckWorkersAsync();
        await WaitForCatchUpsAsync(oldest, 1);
        foreach (var id in silent)
        {
            await WaitForCatchUpsAsync(id, 2);
        }
    }

    /// <summary>Waits until the experiment has been asked to catch up <paramref name="count"/> times (one-way calls arrive a little later).</summary>
    private async Task WaitForCatchUpsAsync(string experimentId, int count)
    {
        var grain = _driver.Experiment(experimentId).GetGrainId();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (ClusterFixture.Calls.Count(grain, nameof(IExperimentGrain.CatchUpAsync)) < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{experimentId} was asked to catch up {ClusterFixture.Calls.Count(grain, nameof(IExperimentGrain.CatchUpAsync))} times, not {count}");
            await Task.Delay(10);
        }

        Assert.Equal(count, ClusterFixture.Calls.Count(grain, nameof(IExperimentGrain.CatchUpAsync)));
    }

    private async Task<StageView> WaitForStageAsync(string experimentId, string stageId, Func<StageView, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var stage = await _driver.Stage(experimentId, stageId).GetAsync();
            if (condition(stage))
            {
                return stage;
            }

            Assert.True(DateTime.UtcNow < deadline, $"stage {stageId} is {stage.Status}");
            await Task.Delay(10);
        }
    }

    private async Task<WorkerView> WaitForWorkerAsync(Func<WorkerView, bool> condition) => await WaitForWorkerAsync("w1", condition);

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
