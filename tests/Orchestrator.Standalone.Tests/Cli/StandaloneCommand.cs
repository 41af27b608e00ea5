namespace Orchestrator.Standalone.Tests.Cli;

/// <summary>The built standalone host run as a user runs it from the command line.</summary>
internal static class StandaloneCommand
{
    /// <summary>
    /// <c>--run <paramref name="dag"/></c> on free ports, with artifacts and the in-process worker's work under
    /// <paramref name="folder"/>.
    /// </summary>
    public static string[] Run(string dag, string folder) =>
    [
        "--run", dag, $"--urls=http://127.0.0.1:{BuiltHosts.FreePort()}", $"--Orchestrator:SiloPort={BuiltHosts.FreePort()}",
        $"--Orchestrator:GatewayPort={BuiltHosts.FreePort()}", $"--Artifacts:DataDirectory={Path.Combine(folder, "artifacts")}",
        $"--Worker:WorkDirectory={Path.Combine(folder, "work")}",
    ];

    /// <summary>Runs the standalone host with <paramref name="arguments"/> to its exit (at most three minutes); returns its exit code, standard output's lines and standard error.</summary>
    public static Task<(int ExitCode, string[] Lines, string Errors)> RunAsync(params string[] arguments) => BuiltHosts.RunAsync(BuiltHosts.Standalone, arguments);

    /// <summary>As <see cref="RunAsync(string[])"/>, within <paramref name="limit"/>.</summary>
    public static Task<(int ExitCode, string[] Lines, string Errors)> RunAsync(TimeSpan limit, params string[] arguments) =>
        BuiltHosts.RunAsync(BuiltHosts.Standalone, limit, arguments);
}
