using System.Diagnostics;
using Orchestrator.Silo.Tests.EndToEnd;

namespace Orchestrator.Silo.Tests.Cli;

/// <summary>The built silo run as a user runs it from the command line.</summary>
internal static class SiloCommand
{
    /// <summary>
    /// <c>--standalone --run <paramref name="dag"/></c> on free ports, with artifacts and the in-process worker's work
    /// under <paramref name="folder"/>.
    /// </summary>
    public static string[] StandaloneRun(string dag, string folder) =>
    [
        "--standalone", "--run", dag, $"--urls=http://127.0.0.1:{SiloPorts.FreePort()}", $"--Orchestrator:SiloPort={SiloPorts.FreePort()}",
        $"--Orchestrator:GatewayPort={SiloPorts.FreePort()}", $"--Artifacts:DataDirectory={Path.Combine(folder, "artifacts")}",
        $"--Worker:WorkDirectory={Path.Combine(folder, "work")}",
    ];

    /// <summary>Runs the silo with <paramref name="arguments"/> to its exit (at most three minutes); returns its exit code, standard output's lines and standard error.</summary>
    public static Task<(int ExitCode, string[] Lines, string Errors)> RunAsync(params string[] arguments) => RunHostAsync(BuiltHosts.Silo, arguments);

    /// <summary>Runs the built host <paramref name="host"/> (a dll of <see cref="BuiltHosts"/>) as <see cref="RunAsync"/> runs the silo.</summary>
    public static async Task<(int ExitCode, string[] Lines, string Errors)> RunHostAsync(string host, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(host);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var standardError = process.StandardError.ReadToEndAsync(timeout.Token);
        var standardOutput = await process.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = await standardError;
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, standardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries), errors);
    }
}
