using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Orchestrator.Hosting;

namespace Trainer.Worker.Observability;

/// <summary>
/// The worker's <c>/metrics</c> in Prometheus format, on its own port (<c>Worker:MetricsPort</c>, off when 0) beside
/// the health URL: the worker's instruments (<see cref="WorkerMetrics"/>) and the runtime's (<c>System.Runtime</c>:
/// process memory, GC, CPU).
/// </summary>
public static class WorkerMetricsHostingExtensions
{
    /// <summary>Call after the health URL is set: the metrics port is added to the URLs the host listens on.</summary>
    public static WebApplicationBuilder AddWorkerMetrics(this WebApplicationBuilder builder)
    {
        if (MetricsPort(builder.Configuration) is not { } port)
        {
            return builder;
        }

        var address = builder.Configuration[$"{WorkerOptions.Section}:{nameof(WorkerOptions.MetricsAddress)}"] ?? new WorkerOptions().MetricsAddress;
        var host = IPAddress.TryParse(address, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address;
        var urls = builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey);
        builder.WebHost.UseUrls([.. (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries), $"http://{host}:{port}"]);
        builder.Services.AddPrometheusMetrics([WorkerMetrics.MeterName]);
        return builder;
    }

    /// <summary>Serves <c>/metrics</c> on the metrics port only, when it is set.</summary>
    public static IEndpointRouteBuilder MapWorkerMetrics(this WebApplication app)
    {
        if (MetricsPort(app.Configuration) is { } port)
        {
            app.MapPrometheusScrapingEndpoint().RequireHost($"*:{port}");
        }

        return app;
    }

    private static int? MetricsPort(IConfiguration configuration) =>
        configuration.GetValue<int?>($"{WorkerOptions.Section}:{nameof(WorkerOptions.MetricsPort)}") is { } port and > 0 ? port : null;
}
