using Orchestrator.Grains;
using Trainer.Worker.Telemetry;

namespace Orchestrator.Silo.Hosting;

/// <summary>The silo's log format and traces: the settings the worker reads too (<see cref="ObservabilityHostingExtensions"/>).</summary>
public static class LogsAndTracesHostingExtensions
{
    public static WebApplicationBuilder AddOrchestratorLogsAndTraces(this WebApplicationBuilder builder)
    {
        builder.Logging.AddConsoleLogFormat(builder.Configuration);
        builder.Services.AddRunTracing(builder.Configuration, "orchestrator", OrchestratorTracing.SourceName, "Microsoft.Orleans.Application");
        return builder;
    }
}
