using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Stages;
using Orleans.Configuration;
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

    private IServiceProvider SiloServices => ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services;

    /// <summary>Collects every activation idle at all, as the silo does to those idle past their age.</summary>
    private async Task CollectIdleAsync()
    {
        await Task.Delay(50);
        await fixture.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.FromMilliseconds(10));
    }

    /// <summary>The keys of the active grains of class <typeparamref name="TGrain"/>.</summary>
    private async Task<List<string>> ActiveAsync<TGrain>()
    {
        var statistics = await fixture.Grains.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics([typeof(TGrain).FullName!]);
        return [.. statistics.Select(statistic => statistic.GrainId.Key.ToString()!)];
    }
}
