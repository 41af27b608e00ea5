using System.CommandLine;
using Microsoft.Extensions.Options;

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
        root.SetAction((parse, cancellationToken) =>
            ServeAsync(parse.GetValue(standalone), parse.GetValue(run), [.. parse.UnmatchedTokens], cancellationToken));
        return root;
    }

    /// <summary>The exit code of a host that refused its settings.</summary>
    public const int InvalidConfigurationExitCode = 2;

    /// <summary>
    /// The settings' failures as one message (instead of a stack trace) when <paramref name="exception"/> is options
    /// validation refusing them at start, alone or several at once; otherwise null.
    /// </summary>
    public static string? ConfigurationError(Exception exception)
    {
        var refused = exception is AggregateException aggregate ? aggregate.InnerExceptions : [exception];
        if (refused.Count == 0 || !refused.All(inner => inner is OptionsValidationException))
        {
            return null;
        }

        var failures = refused.Cast<OptionsValidationException>().SelectMany(inner => inner.Failures).Select(failure => "  " + failure);
        return "The configuration is invalid:\n" + string.Join('\n', failures) +
            "\nFix each setting named above: --Section:Key=value on the command line, or Section__Key in the environment.";
    }

    private static async Task<int> ServeAsync(bool standalone, FileInfo? run, string[] hostArgs, CancellationToken cancellationToken)
    {
        try
        {
            return await ServeOrRunAsync(standalone, run, hostArgs, cancellationToken);
        }
        catch (Exception exception) when (ConfigurationError(exception) is { } message)
        {
            await Console.Error.WriteLineAsync(message);
            return InvalidConfigurationExitCode;
        }
    }

    private static async Task<int> ServeOrRunAsync(bool standalone, FileInfo? run, string[] hostArgs, CancellationToken cancellationToken)
    {
        await using var app = OrchestratorApp.Build(hostArgs, standalone, logsToStandardError: run is not null);

        // The settings are checked before anything starts (the host would check them only after the silo had).
        app.Services.GetService<IStartupValidator>()?.Validate();
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
