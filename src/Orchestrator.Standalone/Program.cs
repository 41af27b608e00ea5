using Orchestrator.Silo.Cli;

namespace Orchestrator.Standalone;

/// <summary>The standalone host's entry point: the silo's command line with a worker in process; tests host it through WebApplicationFactory&lt;Program&gt;.</summary>
public sealed class Program
{
    private Program()
    {
    }

    public static Task<int> Main(string[] args) => OrchestratorCommandLine.InvokeAsync(args, StandaloneWorker.Create());
}
