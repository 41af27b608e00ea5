using Orchestrator.Grains;
using Orchestrator.Hosting.Telemetry;

namespace Orchestrator.Silo.Hosting;

/// <summary>The silo's log format and traces: the settings every host reads (<see cref="ObservabilityHostingExtensions"/>).</summary>
public static class LogsAndTracesHostingExtensions
{
    /// <summary>Adds the orchestrator's and Orleans' activity sources, and <paramref name="moreSources"/> (an in-process worker's).</summary>
    public static WebApplicationBuilder AddOrchestratorLogsAndTraces(this WebApplicationBuilder builder, IReadOnlyList<string> moreSources)
    {
        builder.AddLogsAndTraces("orchestrator", [OrchestratorTracing.SourceName, "Microsoft.Orleans.Application", .. moreSources]);
        return builder;
    }
}
