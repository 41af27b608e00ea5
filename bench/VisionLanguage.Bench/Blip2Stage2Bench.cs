using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VisionLanguage.Bench;

/// <summary>
/// <c>bench blip2-stage2 --preset tiny|base [--steps N (tiny: 20, base: 5)] [--warmup N (tiny: 3, base: 1)] [--batch-size N (tiny: 8, base: 4)] [--rounds N (1)]</c>:
/// BLIP-2 stage-2 training steps through the generic trainer on this machine's CPU, two ways: <c>frozen</c> is the
/// stage-2 model as built (the LLM frozen by <c>Blip2Stage2Model</c>, only <c>ln_vision</c>, the Q-Former, the queries
/// and the projection train), <c>unfrozen</c> trains the LLM too (<see cref="UnfrozenLlmStage2"/>: its gradients, their
/// clipping and its AdamW moments), what full fine-tuning would cost. Shapes: <see cref="Blip2Stage2BenchShape.Of"/>
/// (base: OPT-350m over LAVIS's Q-Former; the frozen image encoder's output is random features in the batch, since the
/// encoder is outside the stage-2 model). Each configuration runs in a child process (this command again, with
/// <c>--mode</c>), so that each one's peak resident set, read from <c>VmHWM</c> at its end, is its own; with several
/// rounds the two alternate, so a change in the machine's load falls on both. Prints a JSON summary as its last line.
/// </summary>
public static class Blip2Stage2Bench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var arguments = BenchArguments.Parse(args);
        if (await BenchArguments.PresetAsync(arguments) is not { } preset)
        {
            return 2;
        }

        if (preset is not ("tiny" or "base"))
        {
            await Console.Error.WriteLineAsync($"bench blip2-stage2 has no '{preset}' shape; use --preset tiny (a toy OPT and Q-Former) or --preset base (OPT-350m, LAVIS's Q-Former)");
            return 2;
        }

        var small = preset == "tiny";
        var batchSize = Int(arguments, "batch-size", small ? 8 : 4);
        var steps = Int(arguments, "steps", small ? 20 : 5);
        var warmup = Int(arguments, "warmup", small ? 3 : 1);
        var rounds = Int(arguments, "rounds", 1);
        var shape = Blip2Stage2BenchShape.Of(preset);
        if (arguments.TryGetValue("mode", out var mode))
        {
            return await Blip2Stage2BenchRun.RunAsync(shape, mode, batchSize, steps, warmup);
        }

        Console.WriteLine($"preset {preset}: {shape.Describe()}; batch {batchSize}; {warmup} warm-up and {steps} timed steps per configuration and round, " +
            $"{rounds} round(s); each configuration in its own process");
        var loadAtStart = ProcReadings.LoadAverage();
        var runs = new Dictionary<string, List<JsonNode>> { [Blip2Stage2BenchRun.Frozen] = [], [Blip2Stage2BenchRun.Unfrozen] = [] };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var configuration in (string[])[Blip2Stage2BenchRun.Frozen, Blip2Stage2BenchRun.Unfrozen])
            {
                if (await BenchChild.RunAsync(["blip2-stage2", .. args, "--mode", configuration], configuration) is not { } result)
                {
                    return 1;
                }

                runs[configuration].Add(result);
            }
        }

        var frozen = Combined(runs[Blip2Stage2BenchRun.Frozen]);
        var unfrozen = Combined(runs[Blip2Stage2BenchRun.Unfrozen]);
        var sameFirstLoss = runs.Values.SelectMany(results => results).Select(result => result["first_loss"]!.GetValue<double>()).Distinct().Count() == 1;
        var summary = new Dictionary<string, object?>
        {
            ["preset"] = preset,
            ["step_ms_frozen"] = Math.Round(frozen.StepMs, 1),
            ["step_ms_unfrozen"] = Math.Round(unfrozen.StepMs, 1),
            ["peak_rss_frozen_bytes"] = frozen.PeakRss,
            ["peak_rss_unfrozen_bytes"] = unfrozen.PeakRss,
            ["trainable_share"] = Math.Round(frozen.Share, 5),
            ["llm_parameters"] = frozen.LlmParameters,
            ["trainable_parameters"] = frozen.Trainable,
            ["batch_size"] = batchSize,
            ["steps"] = frozen.StepsMs.Count,
            ["step_ratio"] = Math.Round(unfrozen.StepMs / frozen.StepMs, 3),
            ["peak_rss_ratio"] = Math.Round((double)unfrozen.PeakRss / frozen.PeakRss, 3),
            ["trainable_parameters_unfrozen"] = unfrozen.Trainable,
            ["steps_ms_frozen"] = frozen.StepsMs,
            ["steps_ms_unfrozen"] = unfrozen.StepsMs,
            ["peak_rss_built_frozen_bytes"] = frozen.BuiltRss,
            ["peak_rss_built_unfrozen_bytes"] = unfrozen.BuiltRss,
            ["warmup"] = warmup,
            ["rounds"] = rounds,
            ["same_first_loss"] = sameFirstLoss,
            ["llm"] = $"OPT {shape.Opt.HiddenSize}x{shape.Opt.Layers}, {shape.Opt.Heads} heads, FFN {shape.Opt.FfnDim}, word width {shape.Opt.WordEmbedWidth}, vocab {shape.Opt.VocabSize}, random weights, fp32",
            ["qformer"] = $"{shape.Qformer.HiddenSize}x{shape.Qformer.Layers}, {shape.Qformer.QueryTokens} queries, cross-attention every {shape.Qformer.CrossAttentionFrequency}, queries only",
            ["image_tokens"] = shape.Vision.Tokens,
            ["image_width"] = shape.Vision.Width,
            ["text_length"] = Blip2Stage2BenchShape.TextLength,
            ["statistic"] = "median of timed steps; peak RSS is the VmHWM of the process that ran the configuration alone",
            ["torch_threads"] = frozen.TorchThreads,
            ["load_average_start"] = loadAtStart,
            ["load_average_end"] = ProcReadings.LoadAverage(),
            ["data"] = "synthetic in-memory tensors; encoder features random, not computed",
        };
        Console.WriteLine(JsonSerializer.Serialize(summary));
        return sameFirstLoss ? 0 : 1;
    }

    private static int Int(Dictionary<string, string> arguments, string name, int fallback) =>
        arguments.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    /// <summary>One configuration over its rounds: the median of all timed steps, the highest peak.</summary>
    private static Configuration Combined(IReadOnlyList<JsonNode> results)
    {
        var stepsMs = results.SelectMany(result => result["steps_ms"]!.AsArray().Select(ms => ms!.GetValue<double>())).ToList();
        var first = results[0];
        return new Configuration(
            BenchStatistics.Median(stepsMs),
            stepsMs,
            results.Max(result => result["peak_rss_bytes"]!.GetValue<long>()),
            results.Max(result => result["peak_rss_built_bytes"]!.GetValue<long>()),
            first["trainable_parameters"]!.GetValue<long>(),
            first["llm_parameters"]!.GetValue<long>(),
            first["stage2_trainable_share"]!.GetValue<double>(),
            first["torch_threads"]!.GetValue<int>());
    }

    private sealed record Configuration(double StepMs, IReadOnlyList<double> StepsMs, long PeakRss, long BuiltRss, long Trainable, long LlmParameters, double Share, int TorchThreads);
}
