using MassTransit;
using Orchestrator.Grains.Scheduling;
using Orchestrator.Hosting.Transport;

namespace Orchestrator.Silo.Transport;

/// <summary>The orchestrator's side of the bus: report, presence and rendezvous consumers, and the dispatcher.</summary>
public static class TransportHostingExtensions
{
    /// <summary>Adds the bus; <paramref name="addMoreConsumers"/> lets standalone mode add the in-process worker's consumers to it.</summary>
    public static IServiceCollection AddOrchestratorTransport(
        this IServiceCollection services, IConfiguration configuration, Action<IBusRegistrationConfigurator>? addMoreConsumers = null)
    {
        services.AddTrainingTransport(configuration, bus =>
        {
            bus.AddConsumer<StageRunReportConsumer, StageRunReportConsumerDefinition>();
            bus.AddConsumer<WorkerPresenceConsumer, WorkerPresenceConsumerDefinition>();
            bus.AddConsumer<RendezvousConsumer, RendezvousConsumerDefinition>();
            addMoreConsumers?.Invoke(bus);
        });

        // Added after the bus, so it stops first and sends what its outboxes hold while the bus is still up.
        services.AddSingleton<MassTransitStageRunDispatcher>();
        services.AddSingleton<IStageRunDispatcher>(provider => provider.GetRequiredService<MassTransitStageRunDispatcher>());
        services.AddHostedService(provider => provider.GetRequiredService<MassTransitStageRunDispatcher>());
        services.AddSingleton<ITransportHealth, BusTransportHealth>();
        return services;
    }
}
