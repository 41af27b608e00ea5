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

    private async Task<WorkerView> WaitForWorkerAsync(Func<WorkerView, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var worker = (await _driver.Scheduler.GetSnapshotAsync()).Workers.Single(w => w.WorkerId == _driver.WorkerId("w1"));
            if (condition(worker))
            {
                return worker;
            }

            Assert.True(DateTime.UtcNow < deadline, $"worker {worker.WorkerId} runs [{string.Join(", ", worker.RunIds)}]");
            await Task.Delay(10);
        }
    }
}
