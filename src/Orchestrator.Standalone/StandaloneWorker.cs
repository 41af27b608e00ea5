using Orchestrator.Artifacts;
using Orchestrator.Hosting.Transport;
using Orchestrator.Silo.Api;
using Orchestrator.Silo.Hosting;
using Trainer.Worker;
using Trainer.Worker.Observability;
using Trainer.Worker.Runners;
using Trainer.Worker.Telemetry;

namespace Orchestrator.Standalone;

/// <summary>
/// The worker the standalone host adds to the silo's process: its consumers on the silo's bus, the agent with its
/// runners, the artifact store, its meters on the silo's <c>/metrics</c> and its activity source in the silo's traces.
/// </summary>
public static class StandaloneWorker
{
    public static InProcessWorker Create() => new()
    {
        // Standalone unless a setting says otherwise: state in memory and the in-memory bus, so no server is needed.
        DefaultSettings = new Dictionary<string, string?>
        {
            [$"{OrchestratorOptions.Section}:{nameof(OrchestratorOptions.Mode)}"] = nameof(OrchestratorMode.Standalone),
            [$"{TransportOptions.Section}:{nameof(TransportOptions.Kind)}"] = nameof(TransportKind.InMemory),
        },
        AddConsumers = bus => bus.AddWorkerConsumers(),
        AddServices = builder =>
        {
            var roots = DefaultImportRoots(builder.Configuration);
            builder.Services.AddTrainerWorker(builder.Configuration);
            builder.Services.AddArtifactStore(builder.Configuration);
            builder.Services.AddSingleton(provider => new LocalWorker(roots, provider.GetRequiredService<StageRunnerRegistry>().Kinds));
        },
        MeterNames = [WorkerMetrics.MeterName],
        TraceSources = [WorkerTracing.SourceName],
    };

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
}
