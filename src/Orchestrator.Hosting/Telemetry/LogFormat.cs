namespace Orchestrator.Hosting.Telemetry;

/// <summary>How the console logger writes lines (setting <c>Logs:Format</c>).</summary>
public enum LogFormat
{
    /// <summary>The console logger's readable text.</summary>
    Text,

    /// <summary>One JSON object per line, with every scope's properties (a run's ids among them).</summary>
    Json,
}
