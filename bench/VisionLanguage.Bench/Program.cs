using VisionLanguage.Bench;

// `bench caption --preset …`: caption throughput with and without the key/value cache.
// `bench --preset tiny|base|large`: time pretraining steps and model FLOP utilisation.
return args switch
{
    ["bench", "caption", ..] => await CaptionBench.RunAsync(args[2..]),
    ["bench", ..] => await PretrainBench.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: bench [--preset tiny|base|large] | bench caption [--preset tiny|base|large]");
    return 2;
}
