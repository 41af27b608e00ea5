using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Stages;
using Orleans.Configuration;
using Orleans.Serialization.TypeSystem;
using Orleans.TestingHost;

namespace Orchestrator.Grains.Tests.Lifecycle;

/// <summary>
/// An experiment that waits costs no activation: its grains are collected after <see cref="ExperimentOptions.IdleCollectionAge"/>
/// and come back from storage when something reaches them; the scheduler, whose memory is the queue, is never collected.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class IdleCollectionTests(ClusterFixture fixture)
{
    private readonly LifecycleDriver _driver = new(fixture);

    [Fact]
    public void The_silo_collects_an_experiments_grains_after_the_idle_age_rather_than_orleans_default()
    {
        var collection = SiloServices.GetRequiredService<IOptions<GrainCollectionOptions>>().Value;

        Assert.Equal(TimeSpan.FromMinutes(2), collection.ClassSpecificCollectionAge[typeof(ExperimentGrain).FullName!]);
        Assert.Equal(TimeSpan.FromMinutes(2), collection.ClassSpecificCollectionAge[typeof(StageGrain).FullName!]);
        Assert.Equal(TimeSpan.FromMinutes(15), collection.CollectionAge);
    }

    [Fact]
    public async Task A_waiting_experiment_collected_whole_runs_when_its_worker_frees_and_the_scheduler_keeps_its_queue()
    {
        await _driver.RegisterWorkerAsync("w1", slots: 1);
        var id = await _driver.SubmitAsync("""
            - { id: a, kind: dataset.synthetic }
            - { id: b, kind: dataset.synthetic }
            """);
        var first = await _driver.Dispatcher.WaitForStartAsync(id, "a");
        await _driver.Stage(first).ReportStartedAsync(new RunStartedReport(first.Run.RunId, first.WorkerIds[0]));
        var waitingRunId = (await _driver.Stage(id, "b").GetAsync()).Attempts.Single().RunId;

        await CollectIdleAsync();

        Assert.DoesNotContain(id, await ActiveAsync<ExperimentGrain>());
        Assert.DoesNotContain(StageKey.Of(id, "a"), await ActiveAsync<StageGrain>());
        Assert.DoesNotContain(StageKey.Of(id, "b"), await ActiveAsync<StageGrain>());
        var snapshot = await _driver.Scheduler.GetSnapshotAsync();
        Assert.Equal([first.Run.RunId], snapshot.Workers.Single(worker => worker.WorkerId == _driver.WorkerId("w1")).RunIds);

        await _driver.CompleteAsync(first);
        var next = await _driver.Dispatcher.WaitForStartAsync(id, "b");
        Assert.Equal(waitingRunId, next.Run.RunId);
        await _driver.CompleteAsync(next);

        var view = await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);
        Assert.All(view.Stages, stage => Assert.Single(stage.Attempts));
    }

    [Fact]
    public async Task Stages_that_wait_on_upstream_stages_leave_memory_once_created_and_the_creation_answers_with_every_stage()
    {
        await _driver.RegisterWorkerAsync("w1", slots: 1);
        var draft = _driver.Draft("""
            - { id: data, kind: dataset.synthetic }
            - { id: pretrain, kind: blip.pretrain, inputs: { train: data.web } }
            - { id: caption, kind: blip.finetune.caption, inputs: { init: pretrain.checkpoint, train: data.human } }
            """);
        var id = $"exp-{_driver.Label}";

        var created = await _driver.Experiment(id).CreateAsync(draft);

        Assert.Equal(CreateOutcome.Created, created.Outcome);
        Assert.Equal(
            [("data", StageStatus.Queued), ("pretrain", StageStatus.Pending), ("caption", StageStatus.Pending)],
            created.View!.Stages.Select(stage => (stage.Id, stage.Status)));
        await WaitUntilInactiveAsync(StageKey.Of(id, "pretrain"), StageKey.Of(id, "caption"));
        Assert.Contains(StageKey.Of(id, "data"), await ActiveAsync<StageGrain>());
        Assert.Contains(id, await ActiveAsync<ExperimentGrain>());

        // Brought back from storage when their upstream stage ends.
        await _driver.CompleteAsync(await _driver.Dispatcher.WaitForStartAsync(id, "data"));
        await _driver.CompleteAsync(await _driver.Dispatcher.WaitForStartAsync(id, "pretrain"));
        await _driver.CompleteAsync(await _driver.Dispatcher.WaitForStartAsync(id, "caption"));
        var view = await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);
        Assert.All(view.Stages, stage => Assert.Single(stage.Attempts));

        // A retried creation answers with the experiment as it now is.
        var retried = await _driver.Experiment(id).CreateAsync(draft);
        Assert.Equal(CreateOutcome.AlreadyExisted, retried.Outcome);
        Assert.Equal(ExperimentStatus.Succeeded, retried.View!.Status);
        Assert.All(retried.View.Stages, stage => Assert.Equal(StageStatus.Succeeded, stage.Status));
    }

    private IServiceProvider SiloServices => ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services;

    /// <summary>Collects every activation idle at all, as the silo does to those idle past their age.</summary>
    private async Task CollectIdleAsync()
    {
        await Task.Delay(50);
        await fixture.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.FromMilliseconds(10));
    }

    /// <summary>Waits for stages that asked to be deactivated once idle, which Orleans does right after their call returns.</summary>
    private async Task WaitUntilInactiveAsync(params string[] stageKeys)
    {
        for (var attempt = 0; attempt < 200 && (await ActiveAsync<StageGrain>()).Intersect(stageKeys).Any(); attempt++)
        {
            await Task.Delay(10);
        }

        Assert.Empty((await ActiveAsync<StageGrain>()).Intersect(stageKeys));
    }

    /// <summary>The keys of the active grains of class <typeparamref name="TGrain"/>, named as Orleans names a grain class.</summary>
    private async Task<List<string>> ActiveAsync<TGrain>()
    {
        var statistics = await fixture.Grains.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics([RuntimeTypeNameFormatter.Format(typeof(TGrain))]);
        return [.. statistics.Select(statistic => statistic.GrainId.Key.ToString()!)];
    }
}
