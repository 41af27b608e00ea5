using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Trainer.Worker;
using Trainer.Worker.Runners;
using Trainer.Worker.TestHost;

// The worker process of src/Trainer.Worker, with the test-only stage runners in place of the real ones, unless it is
// started with --TestHost:Runners=real (the gang tests train the real kinds across worker processes).
var realRunners = args.Contains("--TestHost:Runners=real", StringComparer.Ordinal);
return await WorkerHost.RunAsync(() => WorkerHost.Build([.. args.Where(arg => !arg.StartsWith("--TestHost:", StringComparison.Ordinal))], services =>
{
    if (realRunners)
    {
        return;
    }

    services.AddOptions<SteppingRunnerOptions>().BindConfiguration(SteppingRunnerOptions.Section);
    services.RemoveAll<IStageRunner>();
    services.AddSingleton<IStageRunner, SteppingDatasetRunner>();
    services.AddSingleton<IStageRunner, SteppingPretrainRunner>();
}));
