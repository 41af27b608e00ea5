using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Trainer.Worker;
using Trainer.Worker.Runners;
using Trainer.Worker.TestHost;

// The worker process of src/Trainer.Worker, with the test-only stage runners in place of the real ones.
return await WorkerHost.RunAsync(() => WorkerHost.Build(args, services =>
{
    services.AddOptions<SteppingRunnerOptions>().BindConfiguration(SteppingRunnerOptions.Section);
    services.RemoveAll<IStageRunner>();
    services.AddSingleton<IStageRunner, SteppingDatasetRunner>();
    services.AddSingleton<IStageRunner, SteppingPretrainRunner>();
}));
