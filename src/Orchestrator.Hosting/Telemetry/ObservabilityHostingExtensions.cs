using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Orchestrator.Hosting.Telemetry;

/// <summary>
/// Log format and tracing, set up alike on both planes (silo and worker) from the same settings:
/// <c>Logs:Format</c> (Text or Json) and <c>Tracing:Exporter</c> (None, Console or Otlp) with <c>Tracing:OtlpEndpoint</c>.
/// Each host names its own activity sources; the ones every plane shares are <see cref="TraceSources"/>.
/// </summary>
public static class ObservabilityHostingExtensions
{
    public const string LogFormatKey = "Logs:Format";
    public const string TraceExporterKey = "Tracing:Exporter";
    public const string OtlpEndpointKey = "Tracing:OtlpEndpoint";

    /// <summary>The activity sources of a run's trace on every plane: MassTransit's (it carries the context in message headers) and ASP.NET Core's requests.</summary>
    public static readonly IReadOnlyList<string> TraceSources = ["MassTransit", "Microsoft.AspNetCore"];

    /// <summary>
    /// The host's console log format and its traces: what every host (silo, worker, standalone) calls, with its service
    /// name and its own activity sources (the orchestrator's, the worker's) beside <see cref="TraceSources"/>.
    /// </summary>
    public static IHostApplicationBuilder AddLogsAndTraces(this IHostApplicationBuilder builder, string serviceName, params string[] sources)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Logging.AddConsoleLogFormat(builder.Configuration);
        builder.Services.AddRunTracing(builder.Configuration, serviceName, sources);
        return builder;
    }

    /// <summary>With <c>Logs:Format=Json</c>, the console writes one JSON object per line, scopes included (a run's ids are scope properties).</summary>
    public static ILoggingBuilder AddConsoleLogFormat(this ILoggingBuilder logging, IConfiguration configuration)
    {
        if (Parse<LogFormat>(configuration, LogFormatKey, LogFormat.Text) == LogFormat.Json)
        {
            logging.AddJsonConsole(json =>
            {
                json.IncludeScopes = true;
                json.UseUtcTimestamp = true;
                json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }

        return logging;
    }

    /// <summary>
    /// Exports the traces of <see cref="TraceSources"/> and <paramref name="moreSources"/> (the host's own)
    /// as <c>Tracing:Exporter</c> says; with None (the default) nothing listens.
    /// </summary>
    public static IServiceCollection AddRunTracing(this IServiceCollection services, IConfiguration configuration, string serviceName, params string[] moreSources)
    {
        var exporter = Parse<TraceExporter>(configuration, TraceExporterKey, TraceExporter.None);
        if (exporter == TraceExporter.None)
        {
            return services;
        }

        var endpoint = configuration[OtlpEndpointKey];
        if (endpoint is not null && !(Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            throw new InvalidOperationException($"{OtlpEndpointKey} '{endpoint}' is not an http(s) URI; give the collector's OTLP endpoint, e.g. http://127.0.0.1:4317");
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithTracing(tracing =>
            {
                tracing.AddSource([.. TraceSources, .. moreSources]);
                if (exporter == TraceExporter.Console)
                {
                    tracing.AddConsoleExporter();
                }
                else
                {
                    tracing.AddOtlpExporter(otlp =>
                    {
                        if (endpoint is not null)
                        {
                            otlp.Endpoint = new Uri(endpoint);
                        }
                    });
                }
            });
        return services;
    }

    private static T Parse<T>(IConfiguration configuration, string key, T fallback)
        where T : struct, Enum
    {
        var text = configuration[key];
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        return Enum.TryParse<T>(text, ignoreCase: true, out var value) && !int.TryParse(text, out _)
            ? value
            : throw new InvalidOperationException(
                $"{key} '{text}' is not one of {string.Join(", ", Enum.GetNames<T>())}; set it to one of them, e.g. --{key}={Enum.GetName(fallback)}");
    }
}
