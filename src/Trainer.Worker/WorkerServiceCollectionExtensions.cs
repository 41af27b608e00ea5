using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Trainer.Worker.Agent;
using Trainer.Worker.Consumers;
using Trainer.Worker.Observability;
using Trainer.Worker.Runners;
using Trainer.Worker.Runners.Gangs;
using VisionLanguage.Tasks.Pretraining;

namespace Trainer.Worker;

/// <summary>Wiring for the worker agent, in a worker process or in-process beside the orchestrator (standalone mode).</summary>
public static class WorkerServiceCollectionExtensions
{
    /// <summary>
    /// Adds the worker agent (a hosted service), its options (section <see cref="WorkerOptions.Section"/>), the
    /// stage-runner registry, the report publisher and the stage runners built in (<c>dataset.synthetic</c>,
    /// <c>dataset.import</c>). The worker also needs, from elsewhere: an <c>IArtifactStore</c> and the bus
    /// (<c>AddTrainingTransport</c> with <see cref="AddWorkerConsumers"/>); a <see cref="TimeProvider"/> registered
    /// before this call replaces the system clock.
    /// </summary>
    public static IServiceCollection AddTrainerWorker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WorkerOptions>()
            .Bind(configuration.GetSection(WorkerOptions.Section))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerOptions>, WorkerOptionsValidator>());

        // The host waits for the drain (or the runs' last reports are cut off), and no longer than the worker's bound.
        services.AddOptions<HostOptions>().Configure<IOptions<WorkerOptions>>((host, worker) => host.ShutdownTimeout = worker.Value.StopTimeout);

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StageRunnerRegistry>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, SyntheticDatasetRunner>());
        services.TryAddSingleton<ImportRootGuard>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, DatasetImportRunner>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageRunner, ModelImportRunner>());
        services.TryAddSingleton<IBlipBatchSourceFactory, BlipBatchSourceFactory>();
        services.AddBlipPretraining();
        services.AddBlipCaptioning();
        services.AddBlipDownstream();
        services.AddBlip2();
        services.AddMetrics();
        services.TryAddSingleton<WorkerMetrics>();
        services.TryAddSingleton<ReportPublisher>();
        services.TryAddSingleton<IGangRendezvous, RendezvousClient>();
        services.TryAddSingleton<BusReadiness>();
        services.AddBusObserver(provider => provider.GetRequiredService<BusReadiness>());
        services.TryAddSingleton<WorkerAgent>();
        services.AddHostedService(provider => provider.GetRequiredService<WorkerAgent>());
        return services;
    }

    /// <summary>
    /// Adds the worker's consumers (<see cref="StartStageRunConsumer"/>, <see cref="CancelStageRunConsumer"/>) on the
    /// worker's own queue, <c>worker-{Worker:WorkerId}</c>: the queue is named from the same options the worker
    /// registers with, so the two cannot disagree. Call inside <c>AddTrainingTransport</c>'s callback, beside any
    /// other consumers (the orchestrator's in standalone mode), together with <see cref="AddTrainerWorker"/>.
    /// </summary>
    public static IBusRegistrationConfigurator AddWorkerConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<StartStageRunConsumer, StartStageRunConsumerDefinition>();
        bus.AddConsumer<CancelStageRunConsumer, CancelStageRunConsumerDefinition>();
        return bus;
    }
}
