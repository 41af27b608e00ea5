using VisionLanguage.Bench;

// `bench caption --preset …`: caption throughput with and without the key/value cache.
// `bench blip2-stage1 --preset tiny|base`: BLIP-2 stage-1 steps with the frozen encoder in the step and with its outputs cached.
// `bench blip2-stage2 --preset tiny|base`: BLIP-2 stage-2 steps and peak resident memory with the LLM frozen and unfrozen, each in a child process.
// `bench dp --ranks 2 --preset tiny|base`: data-parallel scaling, one process against a Gloo gang of processes.
// `bench --preset tiny|base|large`: time pretraining steps and model FLOP utilisation.
return args switch
{
    ["bench", "caption", ..] => await CaptionBench.RunAsync(args[2..]),
    ["bench", "blip2-stage1", ..] => await Blip2Stage1Bench.RunAsync(args[2..]),
    ["bench", "blip2-stage2", ..] => await Blip2Stage2Bench.RunAsync(args[2..]),
    ["bench", "dp", ..] => await DpBench.RunAsync(args[2..]),
    ["bench", ..] => await PretrainBench.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: bench [--preset tiny|base|large] | bench caption [--preset tiny|base|large] | bench blip2-stage1 [--preset tiny|base] " +
        "| bench blip2-stage2 [--preset tiny|base] [--steps N] [--warmup N] [--batch-size N] [--rounds N] " +
        "| bench dp [--ranks N] [--preset tiny|base] [--steps N] [--warmup N] [--batch-size N] [--accumulation K] [--rounds N]");
    return 2;
}
