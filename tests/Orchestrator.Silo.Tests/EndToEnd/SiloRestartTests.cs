using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Stages;
using Xunit.Abstractions;

namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>
/// The silo process killed mid-experiment while its worker goes on: a new silo on the same storage account and cluster id
/// takes over from the stages' durable state and the reports queued in RabbitMQ, and no stage runs twice.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class SiloRestartTests(ITestOutputHelper output)
{
    private const int PretrainSteps = 30;
    private static readonly TimeSpan HeartbeatTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>
    /// A joining silo waits for every active member; one that crashed counts until it is declared dead. The
    /// replacement at the same address does that at once (it finds its older self); one at another address (a
    /// rescheduled pod) probes the crashed silo once its I-am-alive entry is stale, which these settings shorten.
    /// </summary>
    private static readonly string[] QuickMembership =
    [
        "--Orchestrator:Membership:IAmAliveTablePublishTimeout=00:00:01",
        "--Orchestrator:Membership:NumMissedTableIAmAliveLimit=2",
        "--Orchestrator:Membership:ProbeTimeout=00:00:01",
    ];

    [ServerTheory(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_silo_killed_mid_experiment_is_replaced_and_the_experiment_finishes_with_no_stage_run_twice(bool sameAddress)
    {
        await using var e2e = await EndToEndEnvironment.StartAsync(output);
        var ports = SiloPorts.Free();
        var (firstSilo, api) = await e2e.StartSiloAsync("silo-1", ports, HeartbeatTimeout, QuickMembership);
        var worker = e2e.WorkerId(1);
        var workerProcess = e2e.StartWorker(worker);
        var id = await api.SubmitAsync(Dags.DataPretrainFinetune(PretrainSteps));
        await api.WaitForAsync(id, "a checkpoint of pretrain", view => Stage(view, "pretrain").LastCheckpoint is not null, Timeout);

        firstSilo.Kill();
        e2e.Log("killed silo-1");

        // The worker finishes pretrain while no silo listens: its reports wait in the broker's queue.
        await workerProcess.WaitForLineAsync("Run completed with outputs checkpoint", Timeout);
        var (_, restartedApi) = await e2e.StartSiloAsync("silo-2", sameAddress ? ports : SiloPorts.Free(), HeartbeatTimeout, QuickMembership);
        var ended = await restartedApi.WaitForEndAsync(id, Timeout);

        Assert.Equal(ExperimentStatus.Succeeded, ended.Status);
        Assert.All(ended.Stages, stage =>
        {
            var attempt = Assert.Single(stage.Attempts);
            Assert.Equal(StageStatus.Succeeded, attempt.Outcome);
            Assert.Equal([worker], attempt.WorkerIds);
        });
        var pretrain = Stage(ended, "pretrain").Attempts[0];
        Assert.Equal(PretrainSteps, pretrain.Metrics["executed_steps"]);
        Assert.Equal(Dags.ValueAfter(PretrainSteps), pretrain.Metrics["value"]);
        Assert.Equal(Stage(ended, "pretrain").Outputs["checkpoint"], Assert.Single(Stage(ended, "continue").Inputs["init"]));

        // The new silo counts experiments from the durable index, not from the transitions it has seen itself.
        await restartedApi.WaitForMetricsAsync(Timeout,
            "orchestrator_experiments{otel_scope_name=\"Orchestrator\",status=\"Succeeded\"} 1\n",
            "orchestrator_experiments{otel_scope_name=\"Orchestrator\",status=\"Running\"} 0\n");
        e2e.Passed();
    }

    private static StageView Stage(ExperimentView view, string id) => view.Stages.Single(stage => stage.Id == id);
}
