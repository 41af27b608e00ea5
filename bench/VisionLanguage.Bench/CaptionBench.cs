using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using VisionLanguage.Data;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Tasks.Captioning;
using static TorchSharp.torch;

namespace VisionLanguage.Bench;

/// <summary>
/// <c>bench caption --preset tiny|base|large [--images N] [--rounds N] [--decoding beam|greedy|nucleus] [--max-length N] [--threads N]</c>:
/// caption generation throughput of a preset's real shapes on this machine's CPU, with and without the decoder's
/// key/value cache, image encoding included. Every caption is decoded to max_length ([SEP] is forbidden until then, so
/// untrained weights cannot end early), with the prompt "a picture of"; both ways must give the same tokens. The tiny
/// preset uses the synthetic dataset's vocabulary (what it trains with), the others BERT's size. Prints a JSON summary
/// as its last line.
/// </summary>
public static class CaptionBench
{
    private const string Prompt = "a picture of ";

    public static async Task<int> RunAsync(string[] args)
    {
        var arguments = BenchArguments.Parse(args);
        if (await BenchArguments.PresetAsync(arguments) is not { } preset)
        {
            return 2;
        }

        if (!Enum.TryParse<CaptionSearch>(arguments.GetValueOrDefault("decoding", "beam"), ignoreCase: true, out var search))
        {
            await Console.Error.WriteLineAsync($"unknown decoding '{arguments["decoding"]}'; use beam, greedy or nucleus");
            return 2;
        }

        var small = preset == "tiny";
        var images = int.Parse(arguments.GetValueOrDefault("images", small ? "16" : "2"), CultureInfo.InvariantCulture);
        var rounds = int.Parse(arguments.GetValueOrDefault("rounds", small ? "11" : "3"), CultureInfo.InvariantCulture);
        var maxLength = int.Parse(arguments.GetValueOrDefault("max-length", "20"), CultureInfo.InvariantCulture);
        if (arguments.TryGetValue("threads", out var threads))
        {
            // One thread keeps a loaded machine's contention out of the comparison (no spinning between torch threads).
            set_num_threads(int.Parse(threads, CultureInfo.InvariantCulture));
        }

        var tokenizer = small ? SyntheticTokenizer() : BertSizedTokenizer();
        var tokens = new BlipSpecialTokens(tokenizer.PadId, tokenizer.ClsId, tokenizer.SepId, tokenizer.EncId, tokenizer.DecId, tokenizer.MaskId, tokenizer.UnkId);
        var config = BlipPresets.Pretrain(preset, tokenizer.VocabSize, tokens.PadId);
        using var model = new BlipCaptionModel(config, tokens, seed: 1, promptLength: 0);
        var settings = new CaptionDecodingSettings { Search = search, MinLength = maxLength, MaxLength = maxLength };
        var rowsPerImage = search switch { CaptionSearch.Beam => settings.BeamSize, CaptionSearch.Nucleus => settings.SamplesPerImage, _ => 1 };
        Console.WriteLine($"preset {preset}: images {config.Vision.ImageSize}px/{config.Vision.PatchSize}, ViT {config.Vision.Width}x{config.Vision.Depth}, " +
            $"text {config.Text.HiddenSize}x{config.Text.Layers}, vocabulary {tokenizer.VocabSize}; {search} ({rowsPerImage} rows per image), " +
            $"max_length {maxLength} (prompt included), {images} images per batch, {get_num_threads()} torch threads");

        using var generatorSource = new Generator(7);
        using var pixels = randn([images, 3, config.Vision.ImageSize, config.Vision.ImageSize], generator: generatorSource);
        var cached = new CaptionGenerator(model, tokenizer, Prompt, settings with { UseCache = true });
        var recomputing = new CaptionGenerator(model, tokenizer, Prompt, settings with { UseCache = false });

        // Warm up both, and check they agree.
        var same = Decode(cached, pixels).SelectMany(row => row).SequenceEqual(Decode(recomputing, pixels).SelectMany(row => row));
        var cachedSeconds = new List<double>();
        var recomputingSeconds = new List<double>();
        var cachedCpu = new List<double>();
        var recomputingCpu = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            // Alternated, so a change in the machine's load falls on both.
            var (wall, cpu) = Time(cached, pixels);
            cachedSeconds.Add(wall);
            cachedCpu.Add(cpu);
            (wall, cpu) = Time(recomputing, pixels);
            recomputingSeconds.Add(wall);
            recomputingCpu.Add(cpu);
            Console.WriteLine($"round {round + 1}: cache {cachedSeconds[^1] * 1000:F0} ms ({cachedCpu[^1] * 1000:F0} ms CPU), " +
                $"recompute {recomputingSeconds[^1] * 1000:F0} ms ({recomputingCpu[^1] * 1000:F0} ms CPU)");
        }

        // Medians: on a shared machine a round now and then is slowed several times over by other work.
        var (cachedMedian, recomputingMedian) = (BenchStatistics.Median(cachedSeconds), BenchStatistics.Median(recomputingSeconds));
        var summary = new Dictionary<string, object>
        {
            ["preset"] = preset,
            ["decoding"] = search.ToString().ToLowerInvariant(),
            ["rows_per_image"] = rowsPerImage,
            ["max_length"] = maxLength,
            ["vocabulary"] = tokenizer.VocabSize,
            ["images_per_batch"] = images,
            ["rounds"] = rounds,
            ["cached_captions_per_s"] = Math.Round(images / cachedMedian, 3),
            ["recomputed_captions_per_s"] = Math.Round(images / recomputingMedian, 3),
            ["speedup"] = Math.Round(recomputingMedian / cachedMedian, 2),
            ["best_round_speedup"] = Math.Round(recomputingSeconds.Min() / cachedSeconds.Min(), 2),
            ["cpu_time_speedup"] = Math.Round(BenchStatistics.Median(recomputingCpu) / BenchStatistics.Median(cachedCpu), 2),
            ["statistic"] = "median of rounds",
            ["same_tokens"] = same,
            ["torch_threads"] = get_num_threads(),
            ["weights"] = "untrained (seed 1)",
        };
        Console.WriteLine(JsonSerializer.Serialize(summary));
        return same ? 0 : 1;
    }

    private static long[][] Decode(CaptionGenerator generator, Tensor pixels)
    {
        using var sampling = new Generator(3);
        return generator.GenerateIds(pixels, sampling);
    }

    /// <summary>Wall time and this process's CPU time (less disturbed by other work on a shared machine), in seconds.</summary>
    private static (double Wall, double Cpu) Time(CaptionGenerator generator, Tensor pixels)
    {
        using var process = Process.GetCurrentProcess();
        var cpuStarted = process.TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        Decode(generator, pixels);
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        process.Refresh();
        return (wall, (process.TotalProcessorTime - cpuStarted).TotalSeconds);
    }

    /// <summary>The tiny preset's real vocabulary: the synthetic dataset's (as examples/tiny-blip.yaml trains with).</summary>
    private static BlipTokenizer SyntheticTokenizer() =>
        BlipTokenizer.FromTokens(SyntheticDataset.Plan(new SyntheticDatasetSettings { Images = 500, HumanImages = 50, TestImages = 50, WebNoise = 0.4, ImageSize = 64, Seed = 0 }).Vocabulary);

    /// <summary>A vocabulary of BERT's size (30,524 with [DEC] and [ENC]) that knows the prompt's words.</summary>
    private static BlipTokenizer BertSizedTokenizer()
    {
        string[] words = ["a", "picture", "of"];
        var fill = 30_524 - BlipTokenizer.SpecialTokens.Count - words.Length;
        return BlipTokenizer.FromTokens([.. BlipTokenizer.SpecialTokens, .. words, .. Enumerable.Range(0, fill).Select(i => $"w{i}")]);
    }
}
