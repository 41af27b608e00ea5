using Orchestrator.Contracts.Catalog;
using Orchestrator.Grains.Artifacts;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Tests.Lifecycle;

/// <summary>
/// A stage whose writes fail (the storage account unreachable) keeps nothing it did not write, so the reports the
/// transport delivers again once storage answers apply as new, not as duplicates of changes that were never saved; and
/// while a write waits, reads answer at once from the state as written.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StorageFailureTests(ClusterFixture fixture)
{
    private readonly LifecycleDriver _driver = new(fixture);

    [Fact]
    public async Task A_failed_write_is_not_kept_reads_do_not_wait_for_a_write_and_the_redelivered_reports_apply()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = await _driver.SubmitAsync("- { id: data, kind: dataset.synthetic }");
        var data = await _driver.Dispatcher.WaitForStartAsync(id, "data");
        var stage = _driver.Stage(data);
        var runId = data.Run.RunId;
        Assert.Equal(ReportOutcome.Applied, await stage.ReportStartedAsync(new RunStartedReport(runId, data.WorkerIds[0])));

        // A progress report whose write fails: the call fails and the stage holds what it had.
        ClusterFixture.Storage.FailWrites(_driver.Label);
        var progress = new RunProgressReport { RunId = runId, Step = 5, TotalSteps = 10, Metrics = new() { ["loss"] = 1.5 } };
        await Assert.ThrowsAnyAsync<Exception>(() => stage.ReportProgressAsync(progress));
        var kept = await stage.GetAsync();
        Assert.Null(kept.Progress);
        Assert.Empty(kept.Metrics);

        // The run's completion while its write waits: the experiment and the stage answer at once, as written.
        ClusterFixture.Storage.FailWrites(_driver.Label, held: true);
        var outputs = StageKindCatalog.Find("dataset.synthetic")!.Outputs.ToDictionary(
            output => output.Name, output => new ArtifactRef { Uri = $"mem://{runId}/{output.Name}", Type = output.Type.Name, RunId = runId });
        var completed = new RunCompletedReport { RunId = runId, Outputs = outputs };
        var completing = stage.ReportCompletedAsync(completed);
        var during = (await _driver.Experiment(id).GetAsync().WaitAsync(TimeSpan.FromSeconds(1)))!;
        Assert.Equal(StageStatus.Running, LifecycleDriver.StageOf(during, "data").Status);
        Assert.Equal(ExperimentStatus.Running, during.Status);
        Assert.False(completing.IsCompleted);

        ClusterFixture.Storage.Release(_driver.Label);
        await Assert.ThrowsAnyAsync<Exception>(() => completing);
        var after = await stage.GetAsync();
        Assert.Equal(StageStatus.Running, after.Status);
        Assert.Empty(after.Outputs);
        Assert.Equal(runId, Assert.Single(after.Attempts).RunId);
        Assert.Null(after.Attempts[0].Outcome);

        // Storage answers again: the same reports, delivered again, apply.
        ClusterFixture.Storage.Heal(_driver.Label);
        Assert.Equal(ReportOutcome.Applied, await stage.ReportProgressAsync(progress));
        Assert.Equal(ReportOutcome.Applied, await stage.ReportCompletedAsync(completed));
        var ended = await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);
        var attempt = Assert.Single(LifecycleDriver.StageOf(ended, "data").Attempts);
        Assert.Equal(StageStatus.Succeeded, attempt.Outcome);
        Assert.Equal(outputs, LifecycleDriver.StageOf(ended, "data").Outputs);
        Assert.Equal(0, LifecycleDriver.StageOf(ended, "data").DuplicateReports);
    }
}
