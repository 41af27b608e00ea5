using System.CommandLine;
using Orchestrator.Hosting;
using Orchestrator.Silo.Hosting;

namespace Orchestrator.Silo.Cli;

/// <summary>
/// The command line of the silo and of the standalone host, which passes its in-process worker: serve (optionally
/// running one DAG with <c>--run</c>), or manage API keys.
/// </summary>
public static class OrchestratorCommandLine
{
    /// <summary>The one-process host, for the message that points a <c>--standalone</c> given to the silo there.</summary>
    public const string StandaloneCommand = "dotnet run --project src/Orchestrator.Standalone -c Release";

    /// <summary>The root command; <paramref name="worker"/> is the standalone host's in-process worker, null for the cluster silo.</summary>
    public static RootCommand Create(InProcessWorker? worker = null)
    {
        var standalone = new Option<bool>("--standalone")
        {
            Description = worker is null
                ? $"Not served here: the one-process host (silo, API, in-memory bus, CPU worker) is {StandaloneCommand}."
                : "Accepted for scripts written for the silo's old flag; this host is standalone anyway.",
            Hidden = worker is not null,
        };
        var run = new Option<FileInfo?>("--run")
        {
            Description = "Submit this DAG (YAML or JSON) at start, print a line per stage event and the final JSON; exit 0 if it succeeded, 1 otherwise (2 if a setting is invalid).",
        };
        var description = worker is null
            ? $"BLIP / BLIP-2 training orchestrator: the silo and its HTTP API; workers connect over the bus. For everything in one process: {StandaloneCommand}."
            : "BLIP / BLIP-2 training orchestrator in one process: silo, API, in-memory bus and a CPU worker (http://127.0.0.1:5080 unless --urls says otherwise).";
        var root = new RootCommand(description + " Other arguments (--urls, --Orchestrator:Mode=Cluster, ...) configure the host.")
        {
            standalone,
            run,
        };
        root.TreatUnmatchedTokensAsErrors = false;
        root.Subcommands.Add(ApiKeyCommand.Create());
        root.SetAction((parse, cancellationToken) => worker is null && parse.GetValue(standalone)
            ? RefuseStandaloneAsync()
            : ServeAsync(worker, parse.GetValue(run), [.. parse.UnmatchedTokens], cancellationToken));
        return root;
    }

    private static async Task<int> RefuseStandaloneAsync()
    {
        await Console.Error.WriteLineAsync(
            $"--standalone: the silo no longer holds a worker; the one-process host is its own project: {StandaloneCommand} (add -- --run FILE to run a DAG).");
        return StartupSettings.InvalidExitCode;
    }

    private static Task<int> ServeAsync(InProcessWorker? worker, FileInfo? run, string[] hostArgs, CancellationToken cancellationToken) =>
        StartupSettings.GuardAsync(() => ServeOrRunAsync(worker, run, hostArgs, cancellationToken));

    private static async Task<int> ServeOrRunAsync(InProcessWorker? worker, FileInfo? run, string[] hostArgs, CancellationToken cancellationToken)
    {
        await using var app = OrchestratorApp.Build(hostArgs, worker, logsToStandardError: run is not null);
        StartupSettings.Validate(app.Services);
        if (run is null)
        {
            await app.RunAsync(cancellationToken);
            return 0;
        }

        await app.StartAsync(cancellationToken);
        var (exitCode, finalJson) = await RunCommand.RunAsync(app, run, cancellationToken);
        await app.StopAsync(CancellationToken.None);
        if (finalJson is not null)
        {
            Console.WriteLine(finalJson);
        }

        return exitCode;
    }
}
