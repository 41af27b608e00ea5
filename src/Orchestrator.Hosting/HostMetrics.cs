using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace Orchestrator.Hosting;

/// <summary>
/// Metrics in Prometheus format, as every host serves them: the host's own meters and the .NET runtime's. Each host
/// maps the scraping endpoint itself, because where it listens differs (the silo's API port, the worker's metrics port).
/// </summary>
public static class HostMetrics
{
    /// <summary>The .NET runtime's built-in meter: working set, GC heap, CPU time.</summary>
    public const string RuntimeMeterName = "System.Runtime";

    /// <summary>Exports <paramref name="meterNames"/> and <see cref="RuntimeMeterName"/> to the Prometheus scraping endpoint.</summary>
    public static IServiceCollection AddPrometheusMetrics(this IServiceCollection services, IEnumerable<string> meterNames)
    {
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter([.. meterNames, RuntimeMeterName])
            .AddPrometheusExporter());
        return services;
    }
}
