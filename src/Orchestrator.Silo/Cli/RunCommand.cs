using System.Text.Json;
using Orchestrator.Grains.Events;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Specs;
using Orchestrator.Grains.Stages;
using Orchestrator.Silo.Api;
using Orchestrator.Silo.Events;
using Orchestrator.Silo.Security;

namespace Orchestrator.Silo.Cli;

/// <summary>
/// <c>--run FILE</c>: submits the DAG once the host is up and prints a line per event of the experiment (the
/// same events <c>GET /api/v1/experiments/{id}/events</c> serves) until it ends, or until the host is asked to stop
/// (SIGTERM, Ctrl+C). The caller prints the final JSON once the host has stopped, so it is the last output.
/// </summary>
internal static class RunCommand
{
    /// <summary>The exit code (0 when the experiment succeeded) and the experiment's final JSON, if it was created.</summary>
    public static async Task<(int ExitCode, string? FinalJson)> RunAsync(WebApplication app, FileInfo file, CancellationToken cancellationToken)
    {
        if (!file.Exists)
        {
            await Console.Error.WriteLineAsync($"--run: the file '{file.FullName}' does not exist; give the path of a DAG in YAML or JSON.");
            return (1, null);
        }

        var format = file.Extension.ToLowerInvariant() is ".yaml" or ".yml" ? SpecFormat.Yaml : SpecFormat.Json;
        var submitted = await app.Services.GetRequiredService<ExperimentSubmitter>()
            .SubmitAsync(await File.ReadAllTextAsync(file.FullName, cancellationToken), format, idempotencyKey: null, Callers.Local);
        if (submitted.Outcome is null)
        {
            await Console.Error.WriteLineAsync($"--run: {file.Name} is not a valid experiment:");
            foreach (var error in submitted.Errors)
            {
                await Console.Error.WriteLineAsync($"  {(error.Path.Length == 0 ? "/" : error.Path)}: {error.Message}");
            }

            return (1, null);
        }

        Console.WriteLine($"experiment {submitted.ExperimentId} submitted from {file.Name}");
        try
        {
            await foreach (var change in app.Services.GetRequiredService<ExperimentEventFeed>().ReadAsync(submitted.ExperimentId, cancellationToken))
            {
                Console.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss} {change.StageId ?? "experiment",-16} {Line(change)}");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync(
                $"--run: the host was asked to stop before experiment {submitted.ExperimentId} ended; its running stages save a checkpoint and stop");
            return (1, null);
        }

        var view = await app.Services.GetRequiredService<IGrainFactory>().GetGrain<IExperimentGrain>(submitted.ExperimentId).GetAsync();
        return view is null ? (1, null) : (view.Status == ExperimentStatus.Succeeded ? 0 : 1, JsonSerializer.Serialize(view, OrchestratorApp.Json));
    }

    private static string Line(ExperimentEvent change)
    {
        if (change.Type == ExperimentEventType.Experiment)
        {
            return change.ExperimentStatus.ToString()!;
        }

        var attempt = change.Attempt is { } number ? $" attempt {number}" : "";
        var progress = change.Progress is { } p
            ? $" step {p.Step}{(p.TotalSteps is { } total ? $"/{total}" : "")}{(p.EtaSeconds is { } eta ? $" eta {eta:0}s" : "")}"
            : "";
        var error = change.StageStatus == StageStatus.Failed && change.Error is not null ? $": {change.Error}" : "";
        return $"{change.StageStatus}{attempt}{progress}{error}";
    }
}
