using Orchestrator.Silo.Cli;

namespace Orchestrator.Silo;

/// <summary>The silo's entry point; tests host it through WebApplicationFactory&lt;Program&gt;.</summary>
public sealed class Program
{
    private Program()
    {
    }

    public static Task<int> Main(string[] args) => OrchestratorCommandLine.InvokeAsync(args);
}
