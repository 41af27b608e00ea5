using System.Text.Json.Nodes;

namespace Orchestrator.Standalone.Tests.Cli;

/// <summary><c>--run FILE</c> on the standalone host as a user runs it: a process that prints the experiment's events, then its JSON.</summary>
public sealed class RunCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("run-command-").FullName;

    [Fact]
    public async Task Run_prints_a_line_per_event_then_the_final_json_and_exits_0_when_the_experiment_succeeded()
    {
        var dag = Path.Combine(_folder, "dag.yaml");
        await File.WriteAllTextAsync(dag, SmallDags.TwoDatasetsInARow("run-command"));

        var (exitCode, lines, _) = await StandaloneCommand.RunAsync(StandaloneCommand.Run(dag, _folder));

        Assert.Equal(0, exitCode);
        Assert.Matches("^experiment exp-[0-9a-f]+ submitted from dag.yaml$", lines[0]);
        var events = lines[1..^1].Select(line => line[9..]).ToList();
        Assert.Equal("experiment       Succeeded", events[^1]);
        // In lifecycle order; Queued can be skipped when the feed catches up from state on a loaded machine.
        var more = events.Where(line => line.StartsWith("more ", StringComparison.Ordinal) && !line.Contains(" step ", StringComparison.Ordinal)).ToList();
        Assert.Equal("more             Pending", more[0]);
        Assert.Equal(["more             Running attempt 1", "more             Succeeded attempt 1"], more[^2..]);
        Assert.True(more.Count == 3 || (more.Count == 4 && more[1] == "more             Queued attempt 1"), string.Join(" | ", more));
        Assert.Contains(events, line => line.StartsWith("more             Running attempt 1 step ", StringComparison.Ordinal));
        Assert.Equal("Succeeded", JsonNode.Parse(lines[^1])!["status"]!.GetValue<string>());
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
