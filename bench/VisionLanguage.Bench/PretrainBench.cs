using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using VisionLanguage.Data;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Models.Blip;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Bench;

/// <summary>
/// <c>bench --preset tiny|base|large [--steps N (tiny: 500, else 3)] [--warmup N (tiny: 50, else 1)] [--batch-size N] [--warmup N]</c>: times BLIP pretraining steps of a
/// preset's real shapes on this machine's CPU, with synthetic in-memory batches (the model side only: no decoding,
/// tokenising or augmentation), and a large fp32 matmul as the achievable peak. Prints a JSON summary as its last line.
/// </summary>
public static class PretrainBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var arguments = BenchArguments.Parse(args);
        if (await BenchArguments.PresetAsync(arguments) is not { } preset)
        {
            return 2;
        }

        var small = preset == "tiny";
        var batchSize = int.Parse(arguments.GetValueOrDefault("batch-size", small ? "32" : "4"), CultureInfo.InvariantCulture);
        var steps = int.Parse(arguments.GetValueOrDefault("steps", small ? "500" : "3"), CultureInfo.InvariantCulture);
        // Resident memory settles (allocator arenas, the GC's heap) over the first few dozen steps; growth is measured after.
        var warmup = int.Parse(arguments.GetValueOrDefault("warmup", small ? "50" : "1"), CultureInfo.InvariantCulture);
        var tokens = BlipSpecialTokens.BertBaseUncased;
        var config = BlipPresets.Pretrain(preset, vocabSize: 30_524, tokens.PadId);

        Console.WriteLine($"preset {preset}: images {config.Vision.ImageSize}px/{config.Vision.PatchSize}, ViT {config.Vision.Width}x{config.Vision.Depth}, " +
            $"text {config.Text.HiddenSize}x{config.Text.Layers}, queue {config.QueueSize}, batch {batchSize}, {get_num_threads()} torch threads");
        var peakBefore = MatmulPeak.Measure();
        Console.WriteLine($"fp32 matmul {MatmulPeak.Side}²: {peakBefore / 1e9:F1} GFLOP/s");

        using var data = new SyntheticPretrainBatches(config, tokens, classes: 16, BlipPresets.MaxTextLength(preset), seed: 1);
        // One pass, as a stage of the preset trains (its learning rate), after one warmup step.
        var settings = new TrainerSettings { Epochs = 1, WarmupSteps = 1, LearningRate = BlipPresets.PretrainLearningRate(preset) ?? new TrainerSettings().LearningRate };
        using var trainer = new Trainer<BlipPretrainModel, BlipPretrainBatch>(_ => new BlipPretrainModel(config, tokens, settings.Seed), settings);
        var parameters = trainer.Model.TrainableParameters().Sum(entry => entry.Parameter.numel());
        Console.WriteLine($"trainable parameters: {parameters / 1e6:F1} M");
        var source = new InMemoryBlipBatchSource(batchSize, warmup + steps, (_, index) => data.Batch(batchSize, index));
        var reports = new List<StepReport>();
        var process = Process.GetCurrentProcess();
        long rssAfterWarmup = 0, rssAtEnd = 0;
        var hooks = new TrainingHooks
        {
            StepCompleted = report =>
            {
                reports.Add(report);
                process.Refresh();
                if (report.Step == warmup)
                {
                    rssAfterWarmup = process.WorkingSet64;
                }

                rssAtEnd = process.WorkingSet64;
                Console.WriteLine($"step {report.Step}: {report.StepSeconds * 1000:F0} ms, loss {report.Loss:F3} " +
                    $"(itc {report.LossOf("itc"):F3}, itm {report.LossOf("itm"):F3}, lm {report.LossOf("lm"):F3}), rss {rssAtEnd / 1e6:F0} MB, live tensors {Tensor.TotalCount}");
                return Task.CompletedTask;
            },
        };
        await trainer.TrainAsync([source], hooks);

        // Measured again after the steps: the better of the two is the least disturbed by other work on the machine.
        var peak = Math.Max(peakBefore, MatmulPeak.Measure());
        Console.WriteLine($"fp32 matmul {MatmulPeak.Side}² again: best {peak / 1e9:F1} GFLOP/s");
        var timed = reports.Skip(warmup).ToList();
        var stepSeconds = timed.Average(report => report.StepSeconds);
        var flops = PretrainFlops.PerStep(config, batchSize, BlipPresets.MaxTextLength(preset));
        var summary = new Dictionary<string, object>
        {
            ["preset"] = preset,
            ["batch_size"] = batchSize,
            ["steps"] = timed.Count,
            ["samples_per_s"] = Math.Round(batchSize / stepSeconds, 3),
            ["step_ms"] = Math.Round(stepSeconds * 1000, 1),
            ["data_wait_share"] = Math.Round(timed.Average(report => report.DataWaitShare), 5),
            ["step_flops"] = flops,
            ["step_flops_per_s"] = Math.Round(flops / stepSeconds),
            ["matmul_peak_flops_per_s"] = Math.Round(peak),
            ["mfu_vs_matmul"] = Math.Round(flops / stepSeconds / peak, 4),
            // Resident memory gained over the timed steps, as a share of what the process held after warm-up.
            ["rss_growth"] = Math.Round((double)(rssAtEnd - rssAfterWarmup) / rssAfterWarmup, 4),
            ["rss_after_warmup_bytes"] = rssAfterWarmup,
            ["rss_growth_bytes"] = rssAtEnd - rssAfterWarmup,
            ["data"] = "synthetic in-memory tensors",
        };
        Console.WriteLine(JsonSerializer.Serialize(summary));
        return 0;
    }
}
