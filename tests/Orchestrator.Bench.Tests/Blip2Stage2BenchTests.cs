using System.Text.Json.Nodes;

namespace Orchestrator.Bench.Tests;

/// <summary>
/// <c>bench blip2-stage2 --preset tiny</c> as docs/benchmarks.md runs it with the base preset, shortened: the command
/// starts itself once per configuration and prints the issue's figures as its last line. At the tiny size the LLM's
/// gradients and AdamW moments (about 2 MB) are within the runtime's own variation in resident memory, so which
/// configuration peaks higher is checked only in the recorded base run.
/// </summary>
public sealed class Blip2Stage2BenchTests
{
    [Fact]
    public async Task The_tiny_stage2_bench_measures_both_configurations_in_child_processes_and_prints_the_issues_figures()
    {
        var (exitCode, lines, errors) = await BuiltHosts.RunAsync(
            BuiltHosts.VisionLanguageBench, "bench", "blip2-stage2", "--preset", "tiny", "--steps", "2", "--warmup", "1", "--batch-size", "2");

        Assert.True(exitCode == 0, $"exit code {exitCode}: {errors}");
        Assert.Contains(lines, line => line.StartsWith("  [frozen] ", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("  [unfrozen] ", StringComparison.Ordinal));
        var figures = JsonNode.Parse(lines[^1])!;
        Assert.Equal("tiny", figures["preset"]!.GetValue<string>());
        Assert.Equal(2, figures["batch_size"]!.GetValue<int>());
        Assert.Equal(2, figures["steps"]!.GetValue<int>());
        Assert.True(figures["step_ms_frozen"]!.GetValue<double>() > 0);
        Assert.True(figures["step_ms_unfrozen"]!.GetValue<double>() > 0);
        Assert.True(figures["peak_rss_frozen_bytes"]!.GetValue<long>() > 0);
        Assert.True(figures["peak_rss_unfrozen_bytes"]!.GetValue<long>() > 0);
        Assert.InRange(figures["trainable_share"]!.GetValue<double>(), double.Epsilon, 1 - 1e-9);

        // Unfrozen, the LLM's parameters join the trainable ones; the two start from the same weights and data.
        var (trainable, llm) = (figures["trainable_parameters"]!.GetValue<long>(), figures["llm_parameters"]!.GetValue<long>());
        Assert.Equal(trainable + llm, figures["trainable_parameters_unfrozen"]!.GetValue<long>());
        Assert.Equal((double)trainable / (trainable + llm), figures["trainable_share"]!.GetValue<double>(), 5);
        Assert.True(figures["same_first_loss"]!.GetValue<bool>());
    }
}
