using System.Text.Json;
using MassTransit;
using Orchestrator.Contracts.Messages;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Stages;
using Xunit.Abstractions;

namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>A DAG between a silo process and a worker process over RabbitMQ and Azurite (grain state, membership, reminders, artifacts), and reports the silo must ignore.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class PipelineTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [ServerFact(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob)]
    public async Task A_dag_runs_end_to_end_with_its_artifacts_in_blob_storage_and_its_lineage_recorded()
    {
        await using var e2e = await EndToEndEnvironment.StartAsync(output);
        var (_, api) = await e2e.StartSiloAsync("silo", SiloPorts.Free(), TimeSpan.FromSeconds(5));
        var worker = e2e.WorkerId(1);
        e2e.StartWorker(worker);

        var id = await api.SubmitAsync(Dags.DataThenPretrain(pretrainSteps: 10));
        var ended = await api.WaitForEndAsync(id, Timeout);

        Assert.Equal(ExperimentStatus.Succeeded, ended.Status);
        var data = ended.Stages.Single(stage => stage.Id == "data");
        var pretrain = ended.Stages.Single(stage => stage.Id == "pretrain");
        Assert.All(ended.Stages, stage => Assert.Equal(StageStatus.Succeeded, Assert.Single(stage.Attempts).Outcome));
        Assert.All(ended.Stages, stage => Assert.Equal([worker], stage.Attempts[0].WorkerIds));
        Assert.Equal(["human", "test", "web"], data.Outputs.Keys.Order());
        Assert.Equal(["checkpoint"], pretrain.Outputs.Keys);
        var containerUri = e2e.Container.Uri.AbsoluteUri + "/";
        Assert.All(ended.Stages.SelectMany(stage => stage.Outputs.Values), artifact =>
        {
            Assert.StartsWith(containerUri + $"{id}/", artifact.Uri, StringComparison.Ordinal);
            Assert.EndsWith("/manifest.json", artifact.Uri, StringComparison.Ordinal);
            Assert.NotNull(artifact.Sha256);
        });
        Assert.Equal(10, pretrain.Attempts[0].Metrics["executed_steps"]);
        Assert.Equal(Dags.ValueAfter(10), pretrain.Attempts[0].Metrics["value"]);
        Assert.Equal(5, pretrain.LastCheckpoint?.Step);

        // The pretrain run fetched the dataset from the container: its output says what it read.
        var result = await e2e.ReadRunnerResultAsync(pretrain.Outputs["checkpoint"].Uri);
        Assert.Equal(1, result.GetProperty("inputFiles").GetProperty("train").GetInt32());

        var lineage = await api.LineageAsync(id);
        Assert.Equal(["data.human", "data.test", "data.web", "pretrain.checkpoint"], lineage.Artifacts.Select(entry => entry.Output).Order());
        var checkpoint = lineage.Artifacts.Single(entry => entry.Output == "pretrain.checkpoint");
        Assert.Equal(pretrain.Outputs["checkpoint"], checkpoint.Artifact);
        Assert.Equal(pretrain.Attempts[0].RunId, checkpoint.RunId);
        Assert.Equal(data.Outputs["web"], Assert.Single(checkpoint.Inputs["train"]));
        e2e.Passed();
    }

    [ServerFact(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob)]
    public async Task Reports_repeated_or_from_an_old_run_arrive_over_the_broker_and_change_nothing()
    {
        await using var e2e = await EndToEndEnvironment.StartAsync(output);
        var (_, api) = await e2e.StartSiloAsync("silo", SiloPorts.Free(), TimeSpan.FromSeconds(5));
        e2e.StartWorker(e2e.WorkerId(1));
        var id = await api.SubmitAsync(Dags.DataThenPretrain(pretrainSteps: 5));
        var before = await api.WaitForEndAsync(id, Timeout);
        Assert.Equal(ExperimentStatus.Succeeded, before.Status);
        var pretrain = before.Stages.Single(stage => stage.Id == "pretrain");
        var run = pretrain.Attempts[0];

        var completed = new StageRunCompleted
        {
            RunId = run.RunId,
            ExperimentId = id,
            StageId = "pretrain",
            Outputs = pretrain.Outputs.ToDictionary(output => output.Key, output => new ArtifactReference { Uri = output.Value.Uri, Type = output.Value.Type, Sha256 = output.Value.Sha256 }),
        };
        var oldRun = $"pretrain-a0-{Guid.NewGuid():N}";
        var forged = new ArtifactReference { Uri = e2e.Container.Uri.AbsoluteUri + "/forged/manifest.json", Type = "checkpoint.blip" };
        await PublishAsync(e2e,
            completed,
            completed,
            completed with { RunId = oldRun, Outputs = new Dictionary<string, ArtifactReference> { ["checkpoint"] = forged } },
            new StageRunFailed { RunId = oldRun, ExperimentId = id, StageId = "pretrain", Error = "late failure", Retryable = true },
            new CheckpointSaved { RunId = oldRun, ExperimentId = id, StageId = "pretrain", Checkpoint = forged with { Step = 99 }, Step = 99, Sha256 = "00" });

        var after = await api.WaitForAsync(id, "2 duplicate and 3 stale reports counted", view =>
            view.Stages.Single(stage => stage.Id == "pretrain") is { DuplicateReports: 2, StaleReports: 3 }, Timeout);

        Assert.Equal(ExperimentStatus.Succeeded, after.Status);
        Assert.Equal(before.EndedAt, after.EndedAt);
        var unchanged = after.Stages.Single(stage => stage.Id == "pretrain");
        Assert.Equal(StageStatus.Succeeded, unchanged.Status);
        Assert.Equal(pretrain.Version, unchanged.Version);
        Assert.Equal(pretrain.Outputs, unchanged.Outputs);
        Assert.Equal(pretrain.LastCheckpoint, unchanged.LastCheckpoint);
        Assert.Equal(JsonSerializer.Serialize(pretrain.Attempts), JsonSerializer.Serialize(unchanged.Attempts));
        e2e.Passed();
    }

    /// <summary>Publishes as a worker would, on this test's vhost, with its own short-lived bus.</summary>
    private static async Task PublishAsync(EndToEndEnvironment e2e, params object[] messages)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(new Uri(e2e.RabbitMq)));
        await bus.StartAsync(TimeSpan.FromSeconds(30));
        try
        {
            foreach (var message in messages)
            {
                await bus.Publish(message, message.GetType());
            }
        }
        finally
        {
            await bus.StopAsync(TimeSpan.FromSeconds(30));
        }
    }
}
