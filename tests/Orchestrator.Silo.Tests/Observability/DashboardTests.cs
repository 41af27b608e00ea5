using Orchestrator.Grains.Experiments;
using Orchestrator.Silo.Tests.EndToEnd;
using Orchestrator.Testing.Observability;
using Xunit.Abstractions;

namespace Orchestrator.Silo.Tests.Observability;

/// <summary>
/// The Grafana dashboard against a real Prometheus that scrapes a silo and two workers while a DAG runs, its pretrain
/// stage trained by a gang of both workers (Gloo over 127.0.0.1): every expression in it must find data, so the
/// dashboard cannot refer to a metric that does not exist. Only the metrics that exist only where a GPU is may be
/// missing (no GPU here): the DCGM exporter's and the workers' NVML readings.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class DashboardTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [ServerFact(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob, TestServers.Prometheus)]
    public async Task Every_dashboard_expression_finds_data_in_prometheus_scraping_a_silo_and_a_gang_of_two_workers_during_a_run()
    {
        var queries = DashboardQueries.Read(await File.ReadAllTextAsync(BuiltHosts.RepositoryFile("helm", "blip-orchestrator", "dashboards", "blip-orchestrator.json")));
        Assert.True(queries.Count >= 20, $"the dashboard has only {queries.Count} queries");

        using var lease = await AzuriteControl.ShareAsync();
        await using var e2e = await EndToEndEnvironment.StartAsync(output);
        var silo = SiloPorts.Free();
        var (_, api) = await e2e.StartSiloAsync("silo", silo, TimeSpan.FromSeconds(5));
        var workerMetricsPorts = new[] { SiloPorts.FreePort(), SiloPorts.FreePort() };
        e2e.StartWorker(e2e.WorkerId(1), "00:00:00.250", $"--Worker:MetricsPort={workerMetricsPorts[0]}");
        e2e.StartWorker(e2e.WorkerId(2), "00:00:00.250", $"--Worker:MetricsPort={workerMetricsPorts[1]}");
        await using var prometheus = await PrometheusServer.StartAsync(new Dictionary<string, string>
        {
            ["orchestrator"] = $"127.0.0.1:{silo.Http}",
            ["worker"] = $"127.0.0.1:{workerMetricsPorts[0]}",
            ["worker2"] = $"127.0.0.1:{workerMetricsPorts[1]}",
        });
        e2e.Log("prometheus ready");

        // A request without a credential, so the refused-requests panel has a count above zero to show.
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await e2e.Client(silo, apiKey: null).Http.GetAsync("/api/v1/experiments")).StatusCode);

        // 80 steps of 250 ms: the pretrain gang trains for 20 s (longer on a loaded machine), a checkpoint every five
        // steps; the queries run while it trains, because a run's series end with it.
        var id = await api.SubmitAsync(Dags.DataThenPretrain(pretrainSteps: 80, workers: 2));
        await api.WaitForAsync(id, "pretrain past its first checkpoint",
            view => view.Stages.Single(stage => stage.Id == "pretrain").Progress?.Step >= 7, Timeout);
        foreach (var ready in new[]
        {
            $"trainer_run_loss{{experiment=\"{id}\",stage=\"pretrain\"}}",
            "trainer_checkpoint_written_bytes_total{kind=\"blip.pretrain\"}",
            "trainer_cache_lookups_total{kind=\"blip.pretrain\"}",
            "orchestrator_stage_duration_seconds_count{kind=\"dataset.synthetic\",status=\"Succeeded\"}",
            "orchestrator_experiments{status=\"Running\"} > 0",
            "orchestrator_api_rejected_total{reason=\"unauthenticated\"} > 0",
            "orchestrator_gang_generations_total{kind=\"blip.pretrain\",start=\"first\"} > 0",
            $"trainer_run_allreduce_ratio{{experiment=\"{id}\",stage=\"pretrain\",rank=\"1\"}}",
            $"trainer_run_rendezvous_duration_seconds{{experiment=\"{id}\",stage=\"pretrain\",rank=\"0\"}}",
        })
        {
            await prometheus.WaitForDataAsync(ready, Timeout);
        }

        // Rates need two samples in their window: evaluate a few scrapes later, while the run still trains.
        await Task.Delay(TimeSpan.FromSeconds(3));
        var at = DateTimeOffset.UtcNow;
        Assert.Equal(ExperimentStatus.Running, (await api.GetAsync(id)).Status);
        var variables = new Dictionary<string, string>
        {
            ["experiment"] = id,
            ["stage"] = ".*",
            ["datasource"] = "prometheus",
            ["__rate_interval"] = "1m",
        };
        var missing = new List<string>();
        foreach (var query in queries)
        {
            var expression = DashboardQueries.Substitute(query.Expression, variables);
            var result = await prometheus.QueryAsync(expression, at);
            var names = DashboardQueries.MetricNames(expression);
            Assert.NotEmpty(names);
            output.WriteLine($"{result.GetArrayLength(),3} series  {query.Panel}: {expression}");
            if (result.GetArrayLength() == 0 && !names.All(OnlyWithGpu))
            {
                missing.Add($"{query.Panel}: {expression} (reads {string.Join(", ", names)})");
            }
        }

        Assert.True(missing.Count == 0, $"no data in Prometheus for:\n{string.Join('\n', missing)}\nPrometheus printed:\n{prometheus.Log}");
        Assert.Contains(queries, query => DashboardQueries.MetricNames(query.Expression).Any(name => name.StartsWith("DCGM_", StringComparison.Ordinal)));

        // The run's series were those of the running pretrain gang, one rank on each worker, and the experiment then
        // ends as it should.
        var loss = await prometheus.QueryAsync($"trainer_run_loss{{experiment=\"{id}\",stage=\"pretrain\",objective=\"total\"}}", at);
        var ranks = loss.EnumerateArray().Select(series => series.GetProperty("metric"))
            .ToDictionary(metric => metric.GetProperty("rank").GetString()!, metric => metric.GetProperty("job").GetString()!);
        Assert.Equal(["0", "1"], ranks.Keys.Order());
        Assert.Equal(["worker", "worker2"], ranks.Values.Order());
        Assert.Equal(ExperimentStatus.Succeeded, (await api.WaitForEndAsync(id, Timeout)).Status);
        e2e.Passed();
    }

    /// <summary>Metrics that exist only where a GPU is: the DCGM exporter's, and the workers' NVML readings.</summary>
    private static bool OnlyWithGpu(string metric) =>
        metric.StartsWith("DCGM_", StringComparison.Ordinal) || metric.StartsWith("trainer_gpu_", StringComparison.Ordinal);
}
