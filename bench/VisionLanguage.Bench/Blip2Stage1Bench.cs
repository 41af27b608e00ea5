using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Vit;
using VisionLanguage.Tasks.Blip2;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Bench;

/// <summary>
/// <c>bench blip2-stage1 --preset tiny|base [--steps N (tiny: 30, base: 3)] [--warmup N (tiny: 5, base: 1)] [--batch-size N (tiny: 32, base: 4)]</c>:
/// BLIP-2 stage-1 training steps (the Q-Former of the preset's <c>blip2.stage1</c> values, through the generic trainer)
/// on this machine's CPU, two ways: <c>compute</c> runs the frozen image encoder on each batch's images inside the step
/// (<see cref="FrozenEncoderBatches"/>, as the stage does), <c>cache</c> reads the encoder's outputs for the same
/// images, computed once before timing (what <c>image_features: cache</c> does). The encoder has random weights: for
/// base ViT-L/14 at 224 pixels read after 23 of its 24 blocks (CLIP ViT-L's shape), for tiny the tiny BLIP ViT. The two
/// trainers start from the same weights and randomness and alternate step by step, so a change in the machine's load
/// falls on both, and their losses must agree. Captions are random bert-base-uncased word ids padded to 32 tokens
/// (LAVIS's <c>max_txt_len</c>), the vocabulary bert-base-uncased's with [DEC]. Prints a JSON summary as its last line.
/// </summary>
public static class Blip2Stage1Bench
{
    private const int TextLength = 32;

    // bert-base-uncased's 30,522 tokens and [DEC] (the Q-Former needs no [ENC]).
    private const int VocabSize = 30_523;

    public static async Task<int> RunAsync(string[] args)
    {
        var arguments = BenchArguments.Parse(args);
        if (await BenchArguments.PresetAsync(arguments) is not { } preset)
        {
            return 2;
        }

        if (preset is not ("tiny" or "base"))
        {
            await Console.Error.WriteLineAsync($"bench blip2-stage1 has no '{preset}' encoder; use --preset tiny (the tiny BLIP ViT) or --preset base (ViT-L/14)");
            return 2;
        }

        var small = preset == "tiny";
        var batchSize = Int(arguments, "batch-size", small ? 32 : 4);
        var steps = Int(arguments, "steps", small ? 30 : 3);
        var warmup = Int(arguments, "warmup", small ? 5 : 1);
        var tokens = BlipSpecialTokens.BertBaseUncased;
        var vision = small ? BlipPresets.Pretrain("tiny", VocabSize, tokens.PadId).Vision : RandomFrozenEncoder.VitL14;
        var blocksUsed = vision.Depth + 1 + Blip2Stage1Preset.VisionLayer(preset);
        var config = Blip2Stage1Preset.Config(preset, VocabSize, tokens.PadId, vision.Width, TextLength);
        Console.WriteLine($"preset {preset}: frozen ViT {vision.Width}x{vision.Depth} at {vision.ImageSize}px/{vision.PatchSize} ({vision.Tokens} tokens) read after {blocksUsed} blocks; " +
            $"Q-Former {config.Qformer.HiddenSize}x{config.Qformer.Layers}, {config.Qformer.QueryTokens} queries, cross-attention every {config.Qformer.CrossAttentionFrequency} layers; " +
            $"captions of {TextLength} tokens; batch {batchSize}; {get_num_threads()} torch threads");
        var peakBefore = MatmulPeak.Measure();
        Console.WriteLine($"fp32 matmul {MatmulPeak.Side}²: {peakBefore / 1e9:F1} GFLOP/s");

        using var encoder = RandomFrozenEncoder.Create(vision, blocksUsed, seed: 1);
        var encoderParameters = encoder.parameters().Sum(parameter => parameter.numel());
        Console.WriteLine($"frozen encoder: {encoderParameters / 1e6:F1} M parameters (random weights, loaded through a temporary safetensors file, since deleted)");
        using var pairs = new Stage1BenchPairs(warmup + steps, batchSize, vision.ImageSize, TextLength, tokens, wordIdsEnd: tokens.DecId, seed: 1);
        var (features, fillSeconds) = FillCache(encoder, pairs);
        try
        {
            var fillMsPerImage = fillSeconds.Sum() * 1000 / (pairs.Count * batchSize);
            Console.WriteLine($"cache filled before timing: {pairs.Count * batchSize} images, {fillMsPerImage:F1} ms per image");
            var rounds = await AlternateAsync(preset, config, tokens, pairs, encoder, features);
            var peak = Math.Max(peakBefore, MatmulPeak.Measure());
            Console.WriteLine($"fp32 matmul {MatmulPeak.Side}² again: best {peak / 1e9:F1} GFLOP/s");
            var measurements = new Measurements(preset, batchSize, vision, blocksUsed, config, rounds.QFormerParameters, encoderParameters, fillMsPerImage, peak);
            var sameLosses = rounds.Steps.All(step => step.Compute.Loss == step.Cache.Loss);
            Console.WriteLine(JsonSerializer.Serialize(Summary(measurements, [.. rounds.Steps.Skip(warmup)], sameLosses)));
            return sameLosses ? 0 : 1;
        }
        finally
        {
            foreach (var tensor in features)
            {
                tensor.Dispose();
            }
        }
    }

    private static int Int(Dictionary<string, string> arguments, string name, int fallback) =>
        arguments.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    /// <summary>The encoder's output for every batch's images, and the seconds each batch took.</summary>
    private static (List<Tensor> Features, List<double> Seconds) FillCache(FrozenImageEncoder encoder, Stage1BenchPairs pairs)
    {
        var features = new List<Tensor>(pairs.Count);
        var seconds = new List<double>(pairs.Count);
        for (var index = 0; index < pairs.Count; index++)
        {
            var started = Stopwatch.GetTimestamp();
            features.Add(encoder.Encode(pairs.Images(index)));
            seconds.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }

        return (features, seconds);
    }

    /// <summary>Two trainers of the same model and seed, one step of each in turn: the encoder in the step, then the cache.</summary>
    private static async Task<Rounds> AlternateAsync(
        string preset, Blip2Stage1Config config, BlipSpecialTokens tokens, Stage1BenchPairs pairs, FrozenImageEncoder encoder, IReadOnlyList<Tensor> features)
    {
        // One pass, as a stage of the preset trains (its learning rate), after one warmup step.
        var settings = new TrainerSettings { Epochs = 1, WarmupSteps = 1, LearningRate = Blip2Stage1Preset.LearningRate(preset) ?? new TrainerSettings().LearningRate };
        using var computing = new Trainer<Blip2Stage1Model, Blip2Stage1Batch>(_ => new Blip2Stage1Model(config, tokens, settings.Seed), settings);
        using var caching = new Trainer<Blip2Stage1Model, Blip2Stage1Batch>(_ => new Blip2Stage1Model(config, tokens, settings.Seed), settings);
        var qformerParameters = computing.Model.ParameterCount();
        Console.WriteLine($"Q-Former: {qformerParameters / 1e6:F1} M trainable parameters");
        var computeSource = new FrozenEncoderBatches(new InMemoryBlipBatchSource(pairs.BatchSize, pairs.Count, (_, index) => pairs.Pairs(index)), encoder);
        var cacheSource = new CachedFeatureBatches(pairs, features);
        var steps = new List<(StepReport Compute, StepReport Cache)>(pairs.Count);
        for (var round = 0; round < pairs.Count; round++)
        {
            var compute = await OneStepAsync(computing, computeSource);
            var cache = await OneStepAsync(caching, cacheSource);
            steps.Add((compute, cache));
            Console.WriteLine($"step {round + 1}: compute {compute.StepSeconds * 1000:F0} ms (encoder {EncoderSeconds(compute) * 1000:F0} ms), " +
                $"cache {cache.StepSeconds * 1000:F0} ms; loss {compute.Loss:F4} / {cache.Loss:F4} " +
                $"(itc {cache.LossOf("itc"):F3}, itm {cache.LossOf("itm"):F3}, itg {cache.LossOf("itg"):F3})");
        }

        return new Rounds(steps, qformerParameters);
    }

    private static async Task<StepReport> OneStepAsync(Trainer<Blip2Stage1Model, Blip2Stage1Batch> trainer, IBatchSource<Blip2Stage1Batch> source)
    {
        var summary = await trainer.TrainAsync([source], stopAtStep: trainer.Position.Step + 1);
        return summary.LastStep ?? throw new InvalidOperationException($"the trainer took no step at step {trainer.Position.Step}");
    }

    /// <summary>The compute step's wait for its batch: the frozen encoder on its images.</summary>
    private static double EncoderSeconds(StepReport compute) => compute.StepSeconds * compute.DataWaitShare;

    private static Dictionary<string, object> Summary(Measurements measured, IReadOnlyList<(StepReport Compute, StepReport Cache)> timed, bool sameLosses)
    {
        var computeMs = timed.Select(step => step.Compute.StepSeconds * 1000).ToList();
        var cacheMs = timed.Select(step => step.Cache.StepSeconds * 1000).ToList();
        var (compute, cache) = (BenchStatistics.Median(computeMs), BenchStatistics.Median(cacheMs));
        var encoderMsPerImage = BenchStatistics.Median(timed.Select(step => EncoderSeconds(step.Compute) * 1000)) / measured.BatchSize;
        var qformerFlops = Blip2Stage1Flops.QFormerStep(measured.Config, measured.BatchSize, measured.Vision.Tokens, TextLength);
        var encoderFlops = measured.BatchSize * Blip2Stage1Flops.EncoderPerImage(measured.Vision, measured.BlocksUsed);
        return new Dictionary<string, object>
        {
            ["preset"] = measured.Preset,
            ["batch_size"] = measured.BatchSize,
            ["steps"] = timed.Count,
            ["step_ms_compute"] = Math.Round(compute, 1),
            ["step_ms_cache"] = Math.Round(cache, 1),
            ["cache_speedup"] = Math.Round(compute / cache, 3),
            ["best_step_speedup"] = Math.Round(computeMs.Min() / cacheMs.Min(), 3),
            ["encoder_ms_per_image"] = Math.Round(encoderMsPerImage, 2),
            ["cache_fill_ms_per_image"] = Math.Round(measured.CacheFillMsPerImage, 2),
            ["steps_ms_compute"] = computeMs.Select(ms => Math.Round(ms)).ToList(),
            ["steps_ms_cache"] = cacheMs.Select(ms => Math.Round(ms)).ToList(),
            ["qformer_step_flops"] = qformerFlops,
            ["encoder_forward_flops"] = encoderFlops,
            ["matmul_peak_flops_per_s"] = Math.Round(measured.MatmulPeak),
            ["mfu_vs_matmul"] = Math.Round(qformerFlops / (cache / 1000) / measured.MatmulPeak, 4),
            ["mfu_vs_matmul_compute"] = Math.Round((qformerFlops + encoderFlops) / (compute / 1000) / measured.MatmulPeak, 4),
            ["qformer_parameters"] = measured.QFormerParameters,
            ["encoder_parameters"] = measured.EncoderParameters,
            ["encoder"] = $"ViT {measured.Vision.Width}x{measured.Vision.Depth} {measured.Vision.ImageSize}px/{measured.Vision.PatchSize}, {measured.BlocksUsed} blocks read, random weights",
            ["image_tokens"] = measured.Vision.Tokens,
            ["text_length"] = TextLength,
            ["same_losses"] = sameLosses,
            ["statistic"] = "median of timed steps",
            ["torch_threads"] = get_num_threads(),
            ["data"] = "synthetic in-memory tensors",
        };
    }

    private sealed record Rounds(IReadOnlyList<(StepReport Compute, StepReport Cache)> Steps, long QFormerParameters);

    private sealed record Measurements(
        string Preset, int BatchSize, VitConfig Vision, int BlocksUsed, Blip2Stage1Config Config, long QFormerParameters, long EncoderParameters,
        double CacheFillMsPerImage, double MatmulPeak);
}
