using Orchestrator.Silo.Cli;

return await OrchestratorCommandLine.Create().Parse(args).InvokeAsync();

/// <summary>The entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
