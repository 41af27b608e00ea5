using System.Text.Json;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Specs;
using Orchestrator.Grains.Stages;
using Orchestrator.Silo.Api;

namespace Orchestrator.Silo.Cli;

/// <summary>
/// <c>--run FILE</c>: submits the DAG once the host is up and prints a line per stage event until the
/// experiment ends. The caller prints the final JSON once the host has stopped, so it is the last output.
/// </summary>
internal static class RunCommand
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

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
            .SubmitAsync(await File.ReadAllTextAsync(file.FullName, cancellationToken), format, idempotencyKey: null);
        if (submitted.Outcome is null)
        {
            await Console.Error.WriteLineAsync($"--run: {file.Name} is not a valid experiment:");
            foreach (var error in submitted.Errors)
            {
                await Console.Error.WriteLineAsync($"  {(error.Path.Length == 0 ? "/" : error.Path)}: {error.Message}");
            }

            return (1, null);
        }

        var experiment = app.Services.GetRequiredService<IGrainFactory>().GetGrain<IExperimentGrain>(submitted.ExperimentId);
        Console.WriteLine($"experiment {submitted.ExperimentId} submitted from {file.Name}");
        var seen = new Dictionary<string, string>();
        while (true)
        {
            var view = (await experiment.GetAsync())!;
            foreach (var stage in view.Stages)
            {
                var line = ProgressLine(stage);
                if (!seen.TryGetValue(stage.Id, out var last) || last != line)
                {
                    seen[stage.Id] = line;
                    Console.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss} {stage.Id,-16} {line}");
                }
            }

            if (view.Status is ExperimentStatus.Succeeded or ExperimentStatus.Failed or ExperimentStatus.Cancelled)
            {
                return (view.Status == ExperimentStatus.Succeeded ? 0 : 1, JsonSerializer.Serialize(view, OrchestratorApp.Json));
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    private static string ProgressLine(StageView stage)
    {
        var attempt = stage.Attempts.Count > 0 ? $" attempt {stage.Attempts[^1].Attempt}" : "";
        var progress = stage.Progress is { } p
            ? $" step {p.Step}{(p.TotalSteps is { } total ? $"/{total}" : "")}{(p.EtaSeconds is { } eta ? $" eta {eta:0}s" : "")}"
            : "";
        var error = stage.Status == StageStatus.Failed && stage.Attempts.Count > 0 ? $": {stage.Attempts[^1].Error}" : "";
        return $"{stage.Status}{attempt}{progress}{error}";
    }
}
