using OpenTelemetry.Metrics;
using Orchestrator.Grains;

namespace Orchestrator.Silo.Hosting;

/// <summary>The silo's metrics: the orchestrator's own instruments and the host's, in Prometheus format at <c>/metrics</c>.</summary>
public static class MetricsHostingExtensions
{
    public static WebApplicationBuilder AddOrchestratorMetrics(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(OrchestratorMetrics.MeterName)
            .AddPrometheusExporter());
        return builder;
    }

    public static IEndpointRouteBuilder MapOrchestratorMetrics(this IEndpointRouteBuilder app)
    {
        app.MapPrometheusScrapingEndpoint();
        return app;
    }
}
