using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Options;
using Orchestrator.Silo.Api;
using Orchestrator.Silo.Events;
using Orchestrator.Silo.Hosting;
using Orchestrator.Silo.Security;
using Orchestrator.Silo.Transport;

namespace Orchestrator.Silo;

/// <summary>
/// Composes the silo, the API and the transport into one web application; a host that holds a worker as well (the
/// standalone host) passes it in as an <see cref="InProcessWorker"/>.
/// </summary>
public static class OrchestratorApp
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>The JSON the API and the command line print: camelCase, enums by name.</summary>
    public static readonly JsonSerializerOptions Json = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    /// <summary>
    /// Builds the host, with <paramref name="worker"/> in its process when given and <c>Orchestrator:InProcessWorker</c>
    /// does not say otherwise; <paramref name="logsToStandardError"/> keeps standard output for <c>--run</c>'s progress
    /// lines and JSON.
    /// </summary>
    public static WebApplication Build(string[] args, InProcessWorker? worker = null, bool logsToStandardError = false)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (worker is not null)
        {
            // First, so every other source (files, environment, command line, a test's settings) overrides them.
            builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = worker.DefaultSettings });
        }

        // Orleans runs every grain placement through a Polly pipeline that logs each attempt at Information.
        builder.Logging.AddFilter("Polly", LogLevel.Warning);
        if (logsToStandardError)
        {
            builder.Logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        }

        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        var orchestrator = builder.Configuration.GetSection(OrchestratorOptions.Section).Get<OrchestratorOptions>() ?? new();
        builder.AddOrchestrator(workerComposed: worker is not null);
        builder.AddOrchestratorSecurity(orchestrator.Mode);
        var inProcessWorker = orchestrator.RunsInProcessWorker && worker is not null ? worker : null;
        builder.AddOrchestratorMetrics(inProcessWorker?.MeterNames ?? []);
        builder.AddOrchestratorLogsAndTraces(inProcessWorker?.TraceSources ?? []);
        builder.Services.AddOrchestratorTransport(builder.Configuration, inProcessWorker?.AddConsumers);
        inProcessWorker?.AddServices(builder);
        builder.Services.AddExperimentSubmissions();
        builder.Services.AddSingleton<ExperimentEventFeed>();
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(options => Configure(options.SerializerOptions));

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseOrchestratorSecurity();
        app.MapOpenApi().AllowAnonymous();
        app.MapOperationsApi();
        app.MapOrchestratorMetrics(app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.ProtectMetrics);
        app.MapExperimentsApiV1();
        app.MapStageKindsApiV1();
        app.MapAuthApiV1();
        return app;
    }

    private static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.Converters.Add(new JsonStringEnumConverter());
        return options;
    }
}
