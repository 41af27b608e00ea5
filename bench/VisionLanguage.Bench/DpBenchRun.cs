using System.Globalization;
using System.Text.Json;
using VisionLanguage.Data;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Models.Blip;
using VisionLanguage.Training;
using VisionLanguage.Training.Distributed.Gloo;
using static TorchSharp.torch;

namespace VisionLanguage.Bench;

/// <summary>
/// One process of <see cref="DpBench"/>: BLIP pretraining of a preset with one torch thread, alone (<c>single</c>) or as
/// one rank of a Gloo gang (<c>rank</c>) that meets through a <see cref="FileRendezvousStore"/>. Prints its step times
/// and all-reduce share as JSON on its last line.
/// </summary>
internal static class DpBenchRun
{
    public sealed record Shape(string Preset, int BatchPerRank, int Steps, int Warmup, int Accumulation)
    {
        /// <summary>Samples one rank trains on per optimiser step: a batch for each accumulated micro-batch.</summary>
        public int SamplesPerStep => BatchPerRank * Accumulation;

        /// <summary>The command line of one of the bench's processes.</summary>
        public IEnumerable<string> Arguments(string role, int rank, int ranks, string? store)
        {
            string[] arguments =
            [
                "dp", "--preset", Preset, "--batch-size", Text(BatchPerRank), "--steps", Text(Steps), "--warmup", Text(Warmup),
                "--accumulation", Text(Accumulation),
                "--role", role, "--rank", Text(rank), "--ranks", Text(ranks),
            ];
            return store is null ? arguments : [.. arguments, "--store", store];
        }

        private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
    }

    public static async Task<int> RunAsync(Shape shape, string role, int rank, int ranks, string? store)
    {
        if (role is not ("single" or "rank") || (role == "rank" && store is null))
        {
            await Console.Error.WriteLineAsync($"bench dp --role {role}: a process is 'single', or 'rank' with --rank, --ranks and --store");
            return 2;
        }

        // One thread per rank: the gang's ranks share this machine's cores, and the single process is compared thread for thread.
        set_num_threads(1);
        var tokens = BlipSpecialTokens.BertBaseUncased;
        var config = BlipPresets.Pretrain(shape.Preset, vocabSize: 30_524, tokens.PadId);
        var settings = new TrainerSettings
        {
            Epochs = 1,
            WarmupSteps = 1,
            LearningRate = BlipPresets.PretrainLearningRate(shape.Preset) ?? new TrainerSettings().LearningRate,
            GradAccumulationSteps = shape.Accumulation,
        };
        using var gang = role == "rank"
            ? await GlooCollectives.ConnectAsync(rank, ranks, new FileRendezvousStore(store!), new GlooOptions { JoinTimeout = TimeSpan.FromMinutes(5) }, CancellationToken.None)
            : null;
        using var data = new SyntheticPretrainBatches(config, tokens, classes: 16, BlipPresets.MaxTextLength(shape.Preset), seed: 1 + rank);
        using var trainer = new Trainer<BlipPretrainModel, BlipPretrainBatch>(_ => new BlipPretrainModel(config, tokens, settings.Seed), settings, gang: gang);
        var gradientBytes = trainer.Model.TrainableParameters().Sum(entry => entry.Parameter.numel() * entry.Parameter.element_size());
        var source = new InMemoryBlipBatchSource(shape.BatchPerRank, (shape.Warmup + shape.Steps) * shape.Accumulation, (_, index) => data.Batch(shape.BatchPerRank, index));
        var reports = new List<StepReport>();
        var hooks = new TrainingHooks
        {
            StepCompleted = report =>
            {
                reports.Add(report);
                Console.WriteLine($"step {report.Step}: {report.StepSeconds * 1000:F0} ms, all-reduce {report.AllReduceShare ?? 0:P1}, loss {report.Loss:F3}");
                return Task.CompletedTask;
            },
        };
        await trainer.TrainAsync([source], hooks);

        var timed = reports.Skip(shape.Warmup).ToList();
        var result = new Dictionary<string, object>
        {
            ["role"] = role,
            ["rank"] = rank,
            ["steps_ms"] = timed.Select(report => Math.Round(report.StepSeconds * 1000, 1)).ToList(),
            ["allreduce_share"] = timed.Average(report => report.AllReduceShare ?? 0),
            ["gradient_bytes"] = gradientBytes,
            ["torch_threads"] = get_num_threads(),
        };
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }
}
