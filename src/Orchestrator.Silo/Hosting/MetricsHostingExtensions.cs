using OpenTelemetry.Metrics;
using Orchestrator.Grains;
using Trainer.Worker.Observability;

namespace Orchestrator.Silo.Hosting;

/// <summary>
/// The silo's metrics in Prometheus format at <c>/metrics</c>: the orchestrator's instruments, and the worker's when
/// a worker runs in this process (standalone mode), and the runtime's (process memory, GC, CPU).
/// </summary>
public static class MetricsHostingExtensions
{
    public static WebApplicationBuilder AddOrchestratorMetrics(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(OrchestratorMetrics.MeterName, WorkerMetrics.MeterName, WorkerMetricsHostingExtensions.RuntimeMeterName)
            .AddPrometheusExporter());
        builder.Services.AddHostedService<ExperimentCountsPoller>();
        return builder;
    }

    /// <summary>Serves <c>/metrics</c>, unthrottled, open unless <paramref name="protect"/> (<c>Auth:ProtectMetrics</c>), when it needs the <c>read</c> scope.</summary>
    public static IEndpointRouteBuilder MapOrchestratorMetrics(this IEndpointRouteBuilder app, bool protect)
    {
        var endpoint = app.MapPrometheusScrapingEndpoint().DisableRateLimiting();
        if (protect)
        {
            endpoint.RequireAuthorization(Security.SecurityHostingExtensions.Read);
        }
        else
        {
            endpoint.AllowAnonymous();
        }

        return app;
    }
}
