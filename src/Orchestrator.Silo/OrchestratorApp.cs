using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Orchestrator.Silo.Api;
using Orchestrator.Silo.Events;
using Orchestrator.Silo.Hosting;
using Orchestrator.Silo.Security;
using Orchestrator.Silo.Transport;
using Trainer.Worker;
using Trainer.Worker.Artifacts;
using Trainer.Worker.Runners;

namespace Orchestrator.Silo;

/// <summary>Composes the silo, the API and the transport into one web application.</summary>
public static class OrchestratorApp
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>The JSON the API and the command line print: camelCase, enums by name.</summary>
    public static readonly JsonSerializerOptions Json = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    /// <summary>Builds the host; <paramref name="logsToStandardError"/> keeps standard output for <c>--run</c>'s progress lines and JSON.</summary>
    public static WebApplication Build(string[] args, bool standalone, bool logsToStandardError = false)
    {
        var builder = WebApplication.CreateBuilder(args);

        // Orleans runs every grain placement through a Polly pipeline that logs each attempt at Information.
        builder.Logging.AddFilter("Polly", LogLevel.Warning);
        if (logsToStandardError)
        {
            builder.Logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        }

        if (standalone)
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [$"{OrchestratorOptions.Section}:{nameof(OrchestratorOptions.Mode)}"] = nameof(OrchestratorMode.Standalone),
                ["Transport:Kind"] = "InMemory",
            });
        }

        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        var orchestrator = builder.Configuration.GetSection(OrchestratorOptions.Section).Get<OrchestratorOptions>() ?? new();
        builder.AddOrchestrator();
        builder.AddOrchestratorSecurity(orchestrator.Mode);
        builder.AddOrchestratorMetrics();
        builder.AddOrchestratorLogsAndTraces();
        var inProcessWorker = orchestrator.RunsInProcessWorker;
        builder.Services.AddOrchestratorTransport(builder.Configuration, inProcessWorker ? bus => bus.AddWorkerConsumers() : null);
        if (inProcessWorker)
        {
            var importRoots = DefaultImportRoots(builder.Configuration);
            builder.Services.AddTrainerWorker(builder.Configuration);
            builder.Services.AddArtifactStore(builder.Configuration);
            builder.Services.AddSingleton(provider => new LocalWorker(importRoots, provider.GetRequiredService<StageRunnerRegistry>().Kinds));
        }

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

    /// <summary>
    /// The in-process worker's import roots: as configured (<c>Worker:ImportRoots</c>), or else the user's home and the
    /// artifact data folder, which a user running the demo on their own machine may read anyway. A cluster worker has
    /// none unless configured.
    /// </summary>
    private static IReadOnlyList<string> DefaultImportRoots(ConfigurationManager configuration)
    {
        var section = $"{WorkerOptions.Section}:{nameof(WorkerOptions.ImportRoots)}";
        var configured = configuration.GetSection(section).Get<List<string>>() ?? [];
        if (configured.Count > 0)
        {
            return configured;
        }

        var artifacts = configuration.GetSection(ArtifactStoreOptions.Section).Get<ArtifactStoreOptions>() ?? new ArtifactStoreOptions();
        string[] roots = [.. new[] { Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), artifacts.DataDirectory }.Where(root => root.Length > 0)];
        configuration.AddInMemoryCollection(roots.Select((root, index) => KeyValuePair.Create($"{section}:{index}", (string?)root)));
        return roots;
    }

    private static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.Converters.Add(new JsonStringEnumConverter());
        return options;
    }
}
