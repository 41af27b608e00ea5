using Trainer.Worker;
using Trainer.Worker.Bench;

// `bench caption --preset …`: caption throughput with and without the key/value cache.
// `bench --preset tiny|base|large`: time pretraining steps and exit; any other arguments run the worker host.
if (args is ["bench", "caption", ..])
{
    return await CaptionBench.RunAsync(args[2..]);
}

if (args is ["bench", ..])
{
    return await PretrainBench.RunAsync(args[1..]);
}

return await WorkerHost.RunAsync(() => WorkerHost.Build(args));
