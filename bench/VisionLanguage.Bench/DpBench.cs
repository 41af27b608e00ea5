using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using VisionLanguage.Training.Distributed.Gloo;

namespace VisionLanguage.Bench;

/// <summary>
/// <c>bench dp --ranks N --preset tiny|base [--steps N (tiny: 30, base: 3)] [--warmup N (tiny: 5, base: 1)] [--batch-size N per rank (tiny: 8, base: 4)] [--accumulation K (1)] [--rounds N (1)]</c>:
/// data-parallel scaling of BLIP pretraining across processes on this machine's CPU. One process trains alone, then N
/// processes train as a gang over Gloo sockets on 127.0.0.1, each with one torch thread and the same batch per rank
/// (weak scaling: the gang's global batch is N times the single process's), the gradients averaged in the trainer's
/// buckets once per optimiser step, that is after <c>--accumulation</c> micro-batches (the option
/// <c>grad_accumulation_steps</c>; DDP's <c>no_sync</c>, LAVIS' <c>accum_grad_iters</c>). Each configuration runs in processes of its own (<see cref="DpBenchRun"/>); with several rounds they
/// alternate, so a change in the machine's load falls on both. Prints a JSON summary as its last line:
/// <c>scaling_efficiency</c> is the gang's samples per second over N times the single process's.
/// </summary>
public static class DpBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var arguments = BenchArguments.Parse(args);
        if (await BenchArguments.PresetAsync(arguments) is not { } preset)
        {
            return 2;
        }

        var small = preset == "tiny";
        var shape = new DpBenchRun.Shape(
            preset,
            BatchPerRank: Int(arguments, "batch-size", small ? 8 : 4),
            Steps: Int(arguments, "steps", small ? 30 : 3),
            Warmup: Int(arguments, "warmup", small ? 5 : 1),
            Accumulation: Int(arguments, "accumulation", 1));
        var ranks = Int(arguments, "ranks", 2);
        if (arguments.TryGetValue("role", out var role))
        {
            return await DpBenchRun.RunAsync(shape, role, Int(arguments, "rank", 0), ranks, arguments.GetValueOrDefault("store"));
        }

        if (ranks < 2)
        {
            await Console.Error.WriteLineAsync($"bench dp compares one process with a gang: --ranks {ranks} is no gang; use --ranks 2 or more");
            return 2;
        }

        if (!GlooCollectives.IsAvailable)
        {
            await Console.Error.WriteLineAsync($"bench dp trains its gang over Gloo, which is not available: {GlooCollectives.UnavailableReason}");
            return 2;
        }

        var rounds = Int(arguments, "rounds", 1);
        if (shape.Accumulation < 1)
        {
            await Console.Error.WriteLineAsync($"bench dp --accumulation {shape.Accumulation}: an optimiser step takes at least 1 micro-batch; use 1 or more");
            return 2;
        }

        Console.WriteLine($"preset {preset}: batch {shape.BatchPerRank} per rank, {shape.Accumulation} micro-batch(es) per step, {shape.Warmup} warm-up and {shape.Steps} timed steps; one process, then {ranks} " +
            $"processes over Gloo on 127.0.0.1; one torch thread each; {rounds} round(s)");
        var loadAtStart = ProcReadings.LoadAverage();
        var single = new List<JsonNode>();
        var gangs = new List<JsonNode>();
        for (var round = 0; round < rounds; round++)
        {
            if (await BenchChild.RunAsync(shape.Arguments("single", 0, 1, store: null), "1 rank") is not { } alone)
            {
                return 1;
            }

            single.Add(alone);
            var store = Directory.CreateTempSubdirectory("bench-dp-store-").FullName;
            try
            {
                var members = await Task.WhenAll(Enumerable.Range(0, ranks).Select(rank =>
                    BenchChild.RunAsync(shape.Arguments("rank", rank, ranks, store), $"rank {rank}/{ranks}")));
                if (members.Any(member => member is null))
                {
                    return 1;
                }

                gangs.AddRange(members!);
            }
            finally
            {
                Directory.Delete(store, recursive: true);
            }
        }

        var singleStepMs = BenchStatistics.Median(single.SelectMany(StepsMs));
        // The ranks step in lockstep (each step ends in the all-reduce); the slowest rank's median is the gang's step.
        var gangStepMs = gangs.GroupBy(result => result["rank"]!.GetValue<int>()).Max(rank => BenchStatistics.Median(rank.SelectMany(StepsMs)));
        var samplesAlone = shape.SamplesPerStep / (singleStepMs / 1000);
        var samplesGang = ranks * shape.SamplesPerStep / (gangStepMs / 1000);
        var summary = new Dictionary<string, object?>
        {
            ["preset"] = preset,
            ["ranks"] = ranks,
            ["batch_per_rank"] = shape.BatchPerRank,
            ["accumulation"] = shape.Accumulation,
            ["steps"] = shape.Steps,
            ["rounds"] = rounds,
            ["step_ms_1rank"] = Math.Round(singleStepMs, 1),
            [$"step_ms_{ranks}ranks"] = Math.Round(gangStepMs, 1),
            ["samples_per_s_1rank"] = Math.Round(samplesAlone, 3),
            [$"samples_per_s_{ranks}ranks"] = Math.Round(samplesGang, 3),
            ["scaling_efficiency"] = Math.Round(samplesGang / (ranks * samplesAlone), 4),
            ["allreduce_share"] = Math.Round(gangs.Where(result => result["rank"]!.GetValue<int>() == 0).Average(result => result["allreduce_share"]!.GetValue<double>()), 4),
            ["gradient_bytes"] = single[0]["gradient_bytes"]!.GetValue<long>(),
            ["torch_threads_per_rank"] = single[0]["torch_threads"]!.GetValue<int>(),
            ["backend"] = "gloo over 127.0.0.1",
            ["statistic"] = "median of timed steps; the gang's step is its slowest rank's median; allreduce_share is rank 0's mean share of step time",
            ["load_average_start"] = loadAtStart,
            ["load_average_end"] = ProcReadings.LoadAverage(),
            ["data"] = "synthetic in-memory tensors, another seed per rank",
        };
        Console.WriteLine(JsonSerializer.Serialize(summary));
        return 0;
    }

    private static IEnumerable<double> StepsMs(JsonNode result) => result["steps_ms"]!.AsArray().Select(ms => ms!.GetValue<double>());

    private static int Int(Dictionary<string, string> arguments, string name, int fallback) =>
        arguments.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;
}
