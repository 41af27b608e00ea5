using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Orchestrator.Testing.Fuzz;

namespace Orchestrator.Standalone.Tests.Cli;

/// <summary>
/// <c>examples/blip-full.yaml</c>, the user's whole pipeline in one DAG, run with <c>--run</c> on the standalone host as
/// the README says, its DAG unchanged (every stage, kind, binding and option it sets) but its sizes shrunk to a few
/// dozen images and one epoch: every stage succeeds and every training stage takes real optimiser steps.
/// </summary>
public sealed class BlipFullExampleTests : IDisposable
{
    private const string Example = "blip-full.yaml";

    /// <summary>Kinds that read, write or score data without an optimiser step.</summary>
    private static readonly HashSet<string> NotTraining = ["dataset.synthetic", "blip.capfilt", "evaluate"];

    private readonly string _folder = Directory.CreateTempSubdirectory("blip-full-").FullName;

    [Fact]
    public async Task The_whole_pipeline_example_shrunk_succeeds_and_every_training_stage_takes_steps()
    {
        var spec = SpecCorpus.Tree(Examples.Read(Example));
        var stages = spec["stages"]!.AsArray().Select(stage => stage!.AsObject()).ToList();
        foreach (var stage in stages)
        {
            Shrink(stage["config"]?.AsObject());
        }

        var dag = Path.Combine(_folder, "blip-full.json");
        await File.WriteAllTextAsync(dag, spec.ToJsonString());

        var (exitCode, lines, errors) = await StandaloneCommand.RunAsync(TimeSpan.FromMinutes(15), StandaloneCommand.Run(dag, _folder));

        Assert.True(exitCode == 0, $"exit code {exitCode}; last lines:\n{string.Join('\n', lines.TakeLast(20))}\n{errors}");
        var final = JsonNode.Parse(lines[^1])!;
        Assert.Equal("Succeeded", final["status"]!.GetValue<string>());
        var events = lines[1..^1].Select(line => line[9..]).ToList();
        foreach (var stage in stages)
        {
            var (id, kind) = (stage["id"]!.GetValue<string>(), stage["kind"]!.GetValue<string>());
            Assert.Contains(events, line => Regex.IsMatch(line, $"^{Regex.Escape(id)} +Succeeded attempt 1$"));
            if (!NotTraining.Contains(kind))
            {
                Assert.True(events.Any(line => Regex.IsMatch(line, $"^{Regex.Escape(id)} +Running attempt 1 step [1-9]")), $"{id} ({kind}) reported no training step");
            }
        }
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The example's sizes cut to a test's: a few dozen images, one epoch or a few steps, small batches and shards.</summary>
    private static void Shrink(JsonObject? config)
    {
        if (config is null)
        {
            return;
        }

        foreach (var (name, value) in new (string, int)[]
        {
            ("images", 40), ("human_images", 16), ("test_images", 8), ("epochs", 1), ("max_steps", 3), ("batch_size", 8),
            ("warmup_steps", 1), ("checkpoint_every_steps", 1000), ("shard_size", 16),
        })
        {
            if (config.ContainsKey(name))
            {
                config[name] = value;
            }
        }
    }
}
