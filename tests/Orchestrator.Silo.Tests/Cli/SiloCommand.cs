namespace Orchestrator.Silo.Tests.Cli;

/// <summary>The built cluster silo run as a user runs it from the command line.</summary>
internal static class SiloCommand
{
    /// <summary>Runs the silo with <paramref name="arguments"/> to its exit (at most three minutes); returns its exit code, standard output's lines and standard error.</summary>
    public static Task<(int ExitCode, string[] Lines, string Errors)> RunAsync(params string[] arguments) => BuiltHosts.RunAsync(BuiltHosts.Silo, arguments);

    /// <summary>Free HTTP and Orleans ports, so a silo that does start collides with nothing.</summary>
    public static string[] FreePorts() =>
        [$"--urls=http://127.0.0.1:{BuiltHosts.FreePort()}", $"--Orchestrator:SiloPort={BuiltHosts.FreePort()}", $"--Orchestrator:GatewayPort={BuiltHosts.FreePort()}"];
}
