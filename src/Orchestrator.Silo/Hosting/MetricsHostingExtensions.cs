using Orchestrator.Grains;
using Orchestrator.Hosting;

namespace Orchestrator.Silo.Hosting;

/// <summary>
/// The silo's metrics in Prometheus format at <c>/metrics</c>: the orchestrator's instruments, an in-process worker's
/// when one runs in this process (the standalone host names its meters), and the runtime's (process memory, GC, CPU).
/// </summary>
public static class MetricsHostingExtensions
{
    public static WebApplicationBuilder AddOrchestratorMetrics(this WebApplicationBuilder builder, IReadOnlyList<string> moreMeters)
    {
        builder.Services.AddPrometheusMetrics([OrchestratorMetrics.MeterName, .. moreMeters]);
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
