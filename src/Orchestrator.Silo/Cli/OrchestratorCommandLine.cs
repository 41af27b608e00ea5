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

    /// <summary>
    /// Parses <paramref name="args"/> and runs the command. SIGTERM and Ctrl+C are left to the host (its console lifetime
    /// stops it, draining the in-process worker within <c>Worker:StopTimeout</c>): System.CommandLine's own handling would
    /// end the process 2 s after the signal, before the runs have saved their checkpoints, and leave the host running
    /// until its lifetime gave up waiting for it (twice the shutdown timeout) meanwhile.
    /// </summary>
    public static Task<int> InvokeAsync(string[] args, InProcessWorker? worker = null) =>
        Create(worker).Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

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

        // The host's lifetime turns SIGTERM and Ctrl+C into ApplicationStopping; nothing else stops a host started this way.
        var stopping = app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var runOrStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping);
        var (exitCode, finalJson) = await RunCommand.RunAsync(app, run, runOrStop.Token);
        await app.StopAsync(CancellationToken.None);
        if (finalJson is not null)
        {
            Console.WriteLine(finalJson);
        }

        return exitCode;
    }
}
