using System.Net;
using Orchestrator.Grains;
using Orchestrator.Grains.Events;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Scheduling;
using Orleans.Configuration;

namespace Orchestrator.Silo.Hosting;

/// <summary>Wires the Orleans silo: memory in standalone mode, Azure Storage for membership, state and reminders in a cluster.</summary>
public static class OrleansHostingExtensions
{
    /// <summary>Orleans' <see cref="ClusterMembershipOptions"/> by their property names, e.g. <c>--Orchestrator:Membership:ProbeTimeout=00:00:02</c>.</summary>
    public const string MembershipSection = $"{OrchestratorOptions.Section}:Membership";

    /// <summary>
    /// Adds the silo and its options; <paramref name="workerComposed"/> says whether the host holds a worker it can run in
    /// process (the standalone host), without which <c>Orchestrator:InProcessWorker=true</c> is refused.
    /// </summary>
    public static WebApplicationBuilder AddOrchestrator(this WebApplicationBuilder builder, bool workerComposed)
    {
        builder.Services.AddOptions<OrchestratorOptions>()
            .BindConfiguration(OrchestratorOptions.Section)
            .ValidateDataAnnotations()
            .Validate(options => workerComposed || options.InProcessWorker != true,
                "Orchestrator:InProcessWorker is true, but this host holds no worker: run the standalone host for a worker in process " +
                "(dotnet run --project src/Orchestrator.Standalone), or leave the setting out and start workers beside the silo (Transport:Kind=RabbitMq)")
            .Validate(options => options.Mode != OrchestratorMode.Cluster
                    || string.IsNullOrWhiteSpace(options.Storage.ConnectionString) != string.IsNullOrWhiteSpace(options.Storage.AccountName),
                "Orchestrator:Storage needs exactly one of ConnectionString and AccountName in cluster mode: " +
                "--Orchestrator:Storage:ConnectionString=... (Azurite or account keys) or --Orchestrator:Storage:AccountName=NAME (DefaultAzureCredential, e.g. workload identity)")
            .Validate(options => options.Mode != OrchestratorMode.Cluster || options.Storage.UsesCredential == false
                    || ClusterStorageOptions.IsAccountName(options.Storage.AccountName),
                "Orchestrator:Storage:AccountName must be a storage account name: 3 to 24 lowercase letters and digits")
            .Validate(options => options.Mode != OrchestratorMode.Cluster
                    || ClusterStorageOptions.IsContainerName(options.Storage.StateContainerFor(options.ServiceId)),
                "Orchestrator:Storage:StateContainer (or, unset, the name made from Orchestrator:ServiceId) must be a blob container name: " +
                "3 to 63 lowercase letters, digits and single hyphens, e.g. --Orchestrator:Storage:StateContainer=orchestrator-state")
            .Validate(options => options.Storage.TryTimeout > TimeSpan.Zero && options.Storage.MaxRetries is >= 0 and <= 10 && options.Storage.RetryDelay >= TimeSpan.Zero,
                "Orchestrator:Storage:TryTimeout must be positive, MaxRetries from 0 to 10 and RetryDelay not negative, e.g. 00:00:02, 1 and 00:00:00.500")
            .Validate(options => IPAddress.TryParse(options.AdvertisedAddress, out _),
                "Orchestrator:AdvertisedAddress must be an IP address, e.g. 10.0.0.5")
            .ValidateOnStart();
        builder.Services.AddOptions<SchedulerOptions>()
            .BindConfiguration(SchedulerOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<ExperimentOptions>()
            .BindConfiguration(ExperimentOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<CreationGate>();
        builder.Services.AddKeyedSingleton(OrchestratorClock.Key, TimeProvider.System);

        var options = builder.Configuration.GetSection(OrchestratorOptions.Section).Get<OrchestratorOptions>() ?? new OrchestratorOptions();

        // The stream agents announce every queue they take and drop at Information: two dozen lines per start and stop.
        builder.Logging.AddFilter("Orleans.Streams", LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(cluster =>
            {
                cluster.ClusterId = options.ClusterId;
                cluster.ServiceId = options.ServiceId;
            });

            // Grain calls carry the caller's trace context (when traces are exported); experiments publish live events.
            silo.AddActivityPropagation();
            silo.AddExperimentEventStreams();
            silo.CollectIdleExperiments();

            if (options.Mode == OrchestratorMode.Cluster)
            {
                silo.ConfigureEndpoints(IPAddress.Parse(options.AdvertisedAddress), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: false);
                silo.UseClusterStorage(options);
                ConfigureMembership(silo, builder.Configuration.GetSection(MembershipSection));
            }
            else
            {
                silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: options.ServiceId, clusterId: options.ClusterId);
                silo.AddOrchestratorMemoryStorage();
                silo.AddMemoryGrainStorage(ExperimentEventStreams.PubSubStore);
                silo.UseInMemoryReminderService();
            }
        });
        return builder;
    }

    /// <summary>
    /// A silo that replaces a crashed one at another address (a rescheduled pod) cannot join until the crashed
    /// silo is declared dead, and a joining silo only probes members whose entry is stale: with Orleans' defaults
    /// that is 3 missed I-am-alive updates 30 s apart, so the control plane would stay down for about two minutes.
    /// Updates every 10 s make an entry stale after 30 s. Every setting can be overridden from <see cref="MembershipSection"/>.
    /// A replacement at the same address is not affected: it declares its older self dead at once.
    /// </summary>
    private static void ConfigureMembership(ISiloBuilder silo, IConfigurationSection section)
    {
        silo.Services.AddOptions<ClusterMembershipOptions>()
            .Configure(membership => membership.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10))
            .Bind(section);
    }
}
