using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Trainer.Worker.Observability;
using Trainer.Worker.Tests.Agent;

namespace Trainer.Worker.Tests.Observability;

/// <summary>The worker's <c>/metrics</c> as Prometheus scrapes it: the names the exporter gives, on the metrics port only.</summary>
/// <remarks>
/// The exporter listens to every meter named <c>Trainer.Worker</c> in the process, and when another test's worker
/// disposes its meter, OpenTelemetry ends the shared streams: these tests run alone.
/// </remarks>
[Collection(WorkerMetricsEndpointCollection.Name)]
public sealed class WorkerMetricsEndpointTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_metrics_port_serves_the_training_series_in_prometheus_format_until_the_run_ends()
    {
        var (healthPort, metricsPort) = (FreePort(), FreePort());
        await using var app = BuildWorker(healthPort, metricsPort);
        await app.StartAsync().WaitAsync(Timeout);
        using var http = new HttpClient { Timeout = Timeout };
        var metrics = app.Services.GetRequiredService<WorkerMetrics>();

        // Other tests' workers in this process export under the same meter name: this run's ids and kind are its own.
        var series = metrics.StartRun(WorkerHarness.Run("run-1", kind: "test.endpoint") with { ExperimentId = "exp-endpoint" });
        series.Record(4, new Dictionary<string, double> { ["loss"] = 2.5, ["loss_itc"] = 1.25, ["lr"] = 0.001, ["step_s"] = 0.5, ["data_wait_share"] = 0.25 }, samplesPerSecond: 8);
        series.RecordCheckpoint(TimeSpan.FromMilliseconds(300), 1234);

        var text = await ScrapeUntilAsync(http, metricsPort, text => text.Contains("trainer_run_step{", StringComparison.Ordinal));
        const string labels = "otel_scope_name=\"Trainer.Worker\",experiment=\"exp-endpoint\",kind=\"test.endpoint\",rank=\"0\",stage=\"data\"";
        Assert.Contains($"trainer_run_step{{{labels}}} 4", text, StringComparison.Ordinal);
        Assert.Contains($"trainer_run_loss{{{Objective("total")}}} 2.5", text, StringComparison.Ordinal);
        Assert.Contains($"trainer_run_loss{{{Objective("itc")}}} 1.25", text, StringComparison.Ordinal);
        Assert.Contains($"trainer_run_learning_rate{{{labels}}} 0.001", text, StringComparison.Ordinal);
        Assert.Contains($"trainer_run_samples_per_second{{{labels}}} 8", text, StringComparison.Ordinal);
        Assert.Contains($"trainer_run_step_duration_seconds{{{labels}}} 0.5", text, StringComparison.Ordinal);
        Assert.Contains($"trainer_run_data_wait_ratio{{{labels}}} 0.25", text, StringComparison.Ordinal);
        Assert.Contains("trainer_checkpoint_write_duration_seconds_count{otel_scope_name=\"Trainer.Worker\",kind=\"test.endpoint\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("trainer_checkpoint_written_bytes_total{otel_scope_name=\"Trainer.Worker\",kind=\"test.endpoint\"} 1234", text, StringComparison.Ordinal);
        Assert.Contains("dotnet_process_memory_working_set_bytes ", text, StringComparison.Ordinal);

        // Only the metrics port serves them.
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"http://127.0.0.1:{healthPort}/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{healthPort}/healthz")).StatusCode);

        series.Dispose();
        text = await ScrapeUntilAsync(http, metricsPort, text => !text.Contains("experiment=\"exp-endpoint\"", StringComparison.Ordinal));
        Assert.Contains("trainer_checkpoint_written_bytes_total{otel_scope_name=\"Trainer.Worker\",kind=\"test.endpoint\"} 1234", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_metrics_port_the_worker_serves_no_metrics()
    {
        var healthPort = FreePort();
        await using var app = BuildWorker(healthPort, metricsPort: 0);
        await app.StartAsync().WaitAsync(Timeout);
        using var http = new HttpClient { Timeout = Timeout };

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"http://127.0.0.1:{healthPort}/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{healthPort}/healthz")).StatusCode);
    }

    private static string Objective(string objective) =>
        $"otel_scope_name=\"Trainer.Worker\",experiment=\"exp-endpoint\",kind=\"test.endpoint\",objective=\"{objective}\",rank=\"0\",stage=\"data\"";

    /// <summary>The hosting of src/Trainer.Worker/Program.cs, without the bus and the agent.</summary>
    private static WebApplication BuildWorker(int healthPort, int metricsPort)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Worker:MetricsPort"] = $"{metricsPort}",
        });
        builder.WebHost.UseUrls($"http://127.0.0.1:{healthPort}");
        builder.Services.AddMetrics();
        builder.Services.AddSingleton<WorkerMetrics>();
        builder.AddWorkerMetrics();
        var app = builder.Build();
        app.MapGet("/healthz", () => Results.Ok());
        app.MapWorkerMetrics();
        return app;
    }

    /// <summary>Scrapes until <paramref name="done"/> holds (the exporter may answer from a cache for a moment).</summary>
    private static async Task<string> ScrapeUntilAsync(HttpClient http, int port, Func<string, bool> done)
    {
        using var cancellation = new CancellationTokenSource(Timeout);
        while (true)
        {
            var text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics", cancellation.Token);
            if (done(text))
            {
                return text;
            }

            await Task.Delay(100, cancellation.Token);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
