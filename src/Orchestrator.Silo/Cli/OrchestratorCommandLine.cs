using System.CommandLine;
using Trainer.Worker;

namespace Orchestrator.Silo.Cli;

/// <summary>The silo's command line: serve (optionally standalone, optionally running one DAG), or benchmark.</summary>
internal static class OrchestratorCommandLine
{
    public static RootCommand Create()
    {
        var standalone = new Option<bool>("--standalone")
        {
            Description = "Run silo, API, in-memory bus and an in-process CPU worker in this one process (http://127.0.0.1:5080 unless --urls says otherwise).",
        };
        var run = new Option<FileInfo?>("--run")
        {
            Description = "Submit this DAG (YAML or JSON) at start, print a line per stage event and the final JSON; exit 0 if it succeeded, 1 otherwise (2 if a setting is invalid).",
        };
        var root = new RootCommand("BLIP / BLIP-2 training orchestrator. Other arguments (--urls, --Orchestrator:Mode=Cluster, ...) configure the host.")
        {
            standalone,
            run,
        };
        root.TreatUnmatchedTokensAsErrors = false;
        root.Subcommands.Add(Bench.BenchCommand.Create());
        root.Subcommands.Add(ApiKeyCommand.Create());
        root.SetAction((parse, cancellationToken) =>
            ServeAsync(parse.GetValue(standalone), parse.GetValue(run), [.. parse.UnmatchedTokens], cancellationToken));
        return root;
    }

    private static Task<int> ServeAsync(bool standalone, FileInfo? run, string[] hostArgs, CancellationToken cancellationToken) =>
        StartupSettings.GuardAsync(() => ServeOrRunAsync(standalone, run, hostArgs, cancellationToken));

    private static async Task<int> ServeOrRunAsync(bool standalone, FileInfo? run, string[] hostArgs, CancellationToken cancellationToken)
    {
        await using var app = OrchestratorApp.Build(hostArgs, standalone, logsToStandardError: run is not null);
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
