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

    /// <summary>Twenty seconds of steps: the run outlasts an outage of twice a five-second heartbeat timeout.</summary>
    private const int LongPretrainSteps = 200;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [ServerFact(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob)]
    public async Task A_broker_restart_mid_run_loses_no_report_and_the_experiment_succeeds()
    {
        await using var e2e = await EndToEndEnvironment.StartAsync(output);

        // The production default: a broker restart must not look like a lost worker.
        var (_, api) = await e2e.StartSiloAsync("silo", SiloPorts.Free(), TimeSpan.FromSeconds(30));
        var worker = e2e.WorkerId(1);
        var process = e2e.StartWorker(worker);
        var id = await api.SubmitAsync(Dags.DataThenPretrain(PretrainSteps));
        await api.WaitForAsync(id, "a checkpoint of pretrain", view => Pretrain(view).LastCheckpoint is not null, Timeout);

        // The worker has tried to reconnect and failed: its reports since then wait for the broker (MassTransit
        // retries a send until the connection is back), while the runner goes on stepping.
        await WhileBrokerStoppedAsync(e2e, () => process.WaitForLineAsync("Connection Failed", Timeout));

        var ended = await api.WaitForEndAsync(id, Timeout);

        Assert.Equal(ExperimentStatus.Succeeded, ended.Status);
        Assert.All(ended.Stages, stage => Assert.Equal(StageStatus.Succeeded, Assert.Single(stage.Attempts).Outcome));
        var pretrain = Pretrain(ended);
        Assert.Equal(PretrainSteps, pretrain.Attempts[0].Metrics["executed_steps"]);
        Assert.Equal(PretrainSteps - 5, pretrain.LastCheckpoint?.Step);
        Assert.False(process.Printed("could not be published and is lost"));
        e2e.Passed();
    }

    /// <summary>
    /// Without the scheduler's view of the transport, every worker would be declared lost once the broker had been
    /// down for a heartbeat timeout, and its run retried although it never stopped.
    /// </summary>
    [ServerFact(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob)]
    public async Task A_broker_outage_longer_than_the_heartbeat_timeout_loses_no_worker()
    {
        var heartbeatTimeout = TimeSpan.FromSeconds(5);
        await using var e2e = await EndToEndEnvironment.StartAsync(output);
        // Workers reconnect on MassTransit's backoff, which can leave a worker unheard for several seconds after the
        // silo has reconnected: the grace covers that, while the outage itself is twice the timeout.
        var (silo, api) = await e2e.StartSiloAsync("silo", SiloPorts.Free(), heartbeatTimeout, "--Scheduler:ReconnectGrace=00:00:30");
        var worker = e2e.WorkerId(1);
        e2e.StartWorker(worker);
        var id = await api.SubmitAsync(Dags.DataThenPretrain(LongPretrainSteps));
        await api.WaitForAsync(id, "a checkpoint of pretrain", view => Pretrain(view).LastCheckpoint is not null, Timeout);

        await WhileBrokerStoppedAsync(e2e, async () =>
        {
            await silo.WaitForLineAsync("Heartbeats cannot arrive", Timeout);
            // The outage has to outlast the timeout; there is nothing to wait for but the clock.
            await Task.Delay(2 * heartbeatTimeout);
        });

        var heard = await silo.WaitForLineAsync("Heartbeats can arrive again", Timeout);
        Assert.EndsWith("each worker has 30 s to be heard before it is declared lost", heard, StringComparison.Ordinal);
        var ended = await api.WaitForEndAsync(id, Timeout);

        Assert.Equal(ExperimentStatus.Succeeded, ended.Status);
        Assert.All(ended.Stages, stage => Assert.Equal(StageStatus.Succeeded, Assert.Single(stage.Attempts).Outcome));
        Assert.Equal(LongPretrainSteps, Pretrain(ended).Attempts[0].Metrics["executed_steps"]);
        Assert.False(silo.Printed("lost;"));
        e2e.Passed();
    }

    /// <summary>Stops the RabbitMQ application, runs <paramref name="whileDown"/>, and starts it again whatever happened.</summary>
    private static async Task WhileBrokerStoppedAsync(EndToEndEnvironment e2e, Func<Task> whileDown)
    {
        await RabbitMqControl.RunAsync("stop_app");
        e2e.Log("broker stopped");
        try
        {
            await whileDown();
        }
        finally
        {
            await RabbitMqControl.RunAsync("start_app");
            e2e.Log("broker started");
        }
    }

    private static StageView Pretrain(ExperimentView view) => view.Stages.Single(stage => stage.Id == "pretrain");
}
