using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Artifacts;
using Orchestrator.Hosting;
using Orchestrator.Hosting.Telemetry;
using Orchestrator.Hosting.Transport;
using Trainer.Worker.Observability;
using Trainer.Worker.Telemetry;

namespace Trainer.Worker;

/// <summary>
/// The worker process: transport, agent, runners, artifact store, logs, traces, metrics and the health endpoint.
/// The test host builds the same process and only swaps runners through <c>configureServices</c>.
/// </summary>
public static class WorkerHost
{
    /// <summary>Builds the host with <paramref name="build"/> and runs it to its end; settings it refuses are printed instead (<see cref="StartupSettings"/>).</summary>
    public static Task<int> RunAsync(Func<WebApplication> build) => StartupSettings.GuardAsync(async () =>
    {
        await using var app = build();
        StartupSettings.Validate(app.Services);
        await app.RunAsync();
        return 0;
    });

    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.WebHost.UseUrls(builder.Configuration[$"{WorkerOptions.Section}:{nameof(WorkerOptions.HealthUrl)}"] ?? new WorkerOptions().HealthUrl);

        // A health probe every few seconds would otherwise write five lines each time.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.AddLogsAndTraces("trainer-worker", WorkerTracing.SourceName);

        builder.Services.AddTrainingTransport(builder.Configuration, bus => bus.AddWorkerConsumers());
        builder.Services.AddTrainerWorker(builder.Configuration);
        builder.Services.AddArtifactStore(builder.Configuration);
        builder.AddWorkerMetrics();
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapGet("/healthz", (IOptions<WorkerOptions> options) => Results.Ok(new { status = "ok", worker = options.Value.WorkerId }));
        app.MapWorkerMetrics();
        return app;
    }
}
