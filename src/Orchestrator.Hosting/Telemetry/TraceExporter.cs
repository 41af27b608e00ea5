namespace Orchestrator.Hosting.Telemetry;

/// <summary>Where traces go (setting <c>Tracing:Exporter</c>).</summary>
public enum TraceExporter
{
    /// <summary>Nowhere: no activity is even created by the instrumented libraries.</summary>
    None,

    /// <summary>Written to standard output, for a look while developing.</summary>
    Console,

    /// <summary>OTLP to a collector at <c>Tracing:OtlpEndpoint</c> (or the OTEL_EXPORTER_OTLP_* variables).</summary>
    Otlp,
}
