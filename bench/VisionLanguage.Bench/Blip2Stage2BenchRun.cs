using System.Text.Json;
using VisionLanguage.Models;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Llm;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Bench;

/// <summary>
/// One configuration of <c>bench blip2-stage2</c>, alone in its process so that the process's peak resident set is
/// its own: builds the stage-2 model (the LLM frozen, or unfrozen by <see cref="UnfrozenLlmStage2"/>), trains it
/// through the generic trainer for the warm-up and timed steps, and prints as its last line a JSON object with the
/// step times and the peak resident set (<c>VmHWM</c>) after building and at the end.
/// </summary>
internal static class Blip2Stage2BenchRun
{
    public const string Frozen = "frozen";

    public const string Unfrozen = "unfrozen";

    public static async Task<int> RunAsync(Blip2Stage2BenchShape shape, string mode, int batchSize, int steps, int warmup)
    {
        if (mode is not (Frozen or Unfrozen))
        {
            await Console.Error.WriteLineAsync($"bench blip2-stage2 has no mode '{mode}'; use --mode {Frozen} or --mode {Unfrozen}, or leave it out to run both");
            return 2;
        }

        // One pass over the batches after one warm-up step of the learning rate, as stage 1's bench trains.
        var settings = new TrainerSettings { Epochs = 1, WarmupSteps = 1 };
        using var batches = new Stage2BenchBatches(shape, warmup + steps, batchSize, seed: 1);
        Blip2Stage2Model? stage2 = null;
        using var trainer = new Trainer<ITrainableModel<Blip2Stage2Batch>, Blip2Stage2Batch>(
            _ =>
            {
                stage2 = Build(shape, settings.Seed);
                return mode == Unfrozen ? new UnfrozenLlmStage2(stage2) : stage2;
            },
            settings);
        var builtPeak = ProcReadings.PeakResidentBytes();
        var trainable = trainer.Model.TrainableParameters().Sum(entry => entry.Parameter.numel());
        var llmParameters = LlmFreezing.ParameterCount(stage2!.Llm.Module);
        Console.WriteLine($"{mode}: {trainable / 1e6:F1} M trainable parameters, LLM {llmParameters / 1e6:F1} M; peak resident set after building {builtPeak / 1e9:F2} GB; {get_num_threads()} torch threads");

        var reports = new List<StepReport>();
        var hooks = new TrainingHooks
        {
            StepCompleted = report =>
            {
                reports.Add(report);
                Console.WriteLine($"step {report.Step}{(report.Step <= warmup ? " (warm-up)" : "")}: {report.StepSeconds * 1000:F0} ms, loss {report.Loss:F4}, grad norm {report.GradNorm:F3}");
                return Task.CompletedTask;
            },
        };
        await trainer.TrainAsync([batches], hooks);
        var peak = ProcReadings.PeakResidentBytes();

        var timedMs = reports.Skip(warmup).Select(report => report.StepSeconds * 1000).ToList();
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["mode"] = mode,
            ["step_ms"] = Math.Round(BenchStatistics.Median(timedMs), 1),
            ["steps_ms"] = timedMs.Select(ms => Math.Round(ms)).ToList(),
            ["peak_rss_bytes"] = peak,
            ["peak_rss_built_bytes"] = builtPeak,
            ["trainable_parameters"] = trainable,
            ["llm_parameters"] = llmParameters,
            ["stage2_trainable_share"] = stage2.TrainableShare(),
            ["first_loss"] = reports[0].Loss,
            ["torch_threads"] = get_num_threads(),
        }));
        return 0;
    }

    /// <summary>The stage-2 model as the stage builds it, over a random-weight OPT of the shape's.</summary>
    private static Blip2Stage2Model Build(Blip2Stage2BenchShape shape, int seed)
    {
        using var generator = new Generator(unchecked((ulong)seed));
        var llm = new OptSoftPrompted(new OptForCausalLM(shape.Opt, generator));
        return new Blip2Stage2Model(new Blip2Stage2Config(shape.Qformer, llm.Architecture, llm.Width), llm, seed);
    }
}
