using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Orchestrator.Hosting.Transport;

/// <summary>One bus setup for both planes, so the orchestrator and its workers always agree on the broker's shape.</summary>
public static class TransportSetup
{
    /// <summary>
    /// Adds the bus with the consumers <paramref name="addConsumers"/> registers, on the transport that
    /// configuration section <see cref="TransportOptions.Section"/> names. Messages about a run are consumed under
    /// a log scope with its ids (<see cref="RunLogScopeFilter{T}"/>); MassTransit carries the trace context in
    /// their headers whenever its activity source ("MassTransit") is listened to.
    /// </summary>
    public static IServiceCollection AddTrainingTransport(
        this IServiceCollection services, IConfiguration configuration, Action<IBusRegistrationConfigurator> addConsumers)
    {
        services.AddOptions<TransportOptions>()
            .Bind(configuration.GetSection(TransportOptions.Section))
            .ValidateDataAnnotations()
            .Validate(options => options.Kind != TransportKind.RabbitMq || Uri.TryCreate(options.RabbitMq, UriKind.Absolute, out _),
                "Transport:RabbitMq must be an amqp:// URI, e.g. amqp://guest:guest@127.0.0.1:5672/, when Transport:Kind is RabbitMq")
            .ValidateOnStart();
        var options = configuration.GetSection(TransportOptions.Section).Get<TransportOptions>() ?? new TransportOptions();

        services.AddMassTransit(bus =>
        {
            bus.AddConsumeObserver<RunFaultLogger>();
            addConsumers(bus);
            if (options.Kind == TransportKind.RabbitMq)
            {
                bus.UsingRabbitMq((context, cfg) =>
                {
                    var settings = context.GetRequiredService<IOptions<TransportOptions>>().Value;
                    cfg.Host(new Uri(settings.RabbitMq!), host => host.PublisherConfirmation = true);
                    cfg.PrefetchCount = settings.PrefetchCount;
                    cfg.Durable = true;
                    if (settings.QuorumQueues)
                    {
                        cfg.SetQuorumQueue();
                    }

                    cfg.UseConsumeFilter(typeof(RunLogScopeFilter<>), context);
                    cfg.ConfigureEndpoints(context);
                });
            }
            else
            {
                bus.UsingInMemory((context, cfg) =>
                {
                    cfg.PrefetchCount = options.PrefetchCount;
                    cfg.UseConsumeFilter(typeof(RunLogScopeFilter<>), context);
                    cfg.ConfigureEndpoints(context);
                });
            }
        });
        return services;
    }
}
