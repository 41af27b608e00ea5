using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Stages;
using Xunit.Abstractions;

namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>The RabbitMQ application stopped and started again mid-run (the node stays up, as in a broker restart).</summary>
[Collection(EndToEndCollection.Name)]
public sealed class BrokerRestartTests(ITestOutputHelper output)
{
    /// <summary>Six seconds of steps: enough that the run is still going while the broker is down.</summary>
    private const int PretrainSteps = 60;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [ServerFact(TestServers.Redis, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob)]
    public async Task A_broker_restart_mid_run_loses_no_report_and_the_experiment_succeeds()
    {
        await using var e2e = await EndToEndEnvironment.StartAsync(output);

        // The production default: a broker restart must not look like a lost worker.
        var (_, api) = await e2e.StartSiloAsync("silo", SiloPorts.Free(), TimeSpan.FromSeconds(30));
        var worker = e2e.WorkerId(1);
        var process = e2e.StartWorker(worker);
        var id = await api.SubmitAsync(Dags.DataThenPretrain(PretrainSteps));
        await api.WaitForAsync(id, "a checkpoint of pretrain", view => Pretrain(view).LastCheckpoint is not null, Timeout);

        await RabbitMqControl.RunAsync("stop_app");
        e2e.Log("broker stopped");
        try
        {
            // The worker has tried to reconnect and failed: its reports since then wait for the broker (MassTransit
            // retries a send until the connection is back), while the runner goes on stepping.
            await process.WaitForLineAsync("Connection Failed", Timeout);
        }
        finally
        {
            await RabbitMqControl.RunAsync("start_app");
            e2e.Log("broker started");
        }

        var ended = await api.WaitForEndAsync(id, Timeout);

        Assert.Equal(ExperimentStatus.Succeeded, ended.Status);
        Assert.All(ended.Stages, stage => Assert.Equal(StageStatus.Succeeded, Assert.Single(stage.Attempts).Outcome));
        var pretrain = Pretrain(ended);
        Assert.Equal(PretrainSteps, pretrain.Attempts[0].Metrics["executed_steps"]);
        Assert.Equal(PretrainSteps - 5, pretrain.LastCheckpoint?.Step);
        Assert.False(process.Printed("could not be published and is lost"));
        e2e.Passed();
    }

    private static StageView Pretrain(ExperimentView view) => view.Stages.Single(stage => stage.Id == "pretrain");
}
