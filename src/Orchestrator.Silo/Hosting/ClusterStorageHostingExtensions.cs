using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orchestrator.Grains;
using Orchestrator.Grains.Events;
using Orleans.Storage;

namespace Orchestrator.Silo.Hosting;

/// <summary>
/// A cluster's state in one Azure Storage account through Orleans' own providers: membership and reminders in tables,
/// every grain state (experiments, the experiment index, stages, the live events' stream subscriptions) in blobs, since
/// a table entity holds at most 15 × 64 KiB and an experiment alone can hold a 1 MiB spec. All of it is written with
/// the Orleans serializer, not the providers' default JSON (docs/decisions.md).
/// </summary>
public static class ClusterStorageHostingExtensions
{
    public static ISiloBuilder UseClusterStorage(this ISiloBuilder silo, OrchestratorOptions options)
    {
        var storage = options.Storage;
        silo.Services.TryAddKeyedSingleton<TokenCredential>(ClusterStorageClients.CredentialKey, (_, _) => new DefaultAzureCredential());
        silo.Services.TryAddSingleton(services => new ClusterStorageClients(
            storage, () => services.GetRequiredKeyedService<TokenCredential>(ClusterStorageClients.CredentialKey)));

        silo.UseAzureStorageClustering(clustering => clustering.Configure<ClusterStorageClients>(
            (settings, clients) => settings.TableServiceClient = clients.Tables));
        silo.UseAzureTableReminderService(reminders => reminders.Configure<ClusterStorageClients>(
            (settings, clients) => settings.TableServiceClient = clients.Tables));

        var container = storage.StateContainerFor(options.ServiceId);
        AddBlobStorage(silo, OrchestratorStorage.Name, container);

        // Stream subscriptions (of the live events' readers, on whichever silo serves them) are shared by the cluster.
        AddBlobStorage(silo, ExperimentEventStreams.PubSubStore, container);
        return silo;
    }

    private static void AddBlobStorage(ISiloBuilder silo, string name, string container) =>
        silo.AddAzureBlobGrainStorage(name, storage => storage.Configure<ClusterStorageClients, IServiceProvider>((settings, clients, services) =>
        {
            settings.BlobServiceClient = clients.Blobs;
            settings.ContainerName = container;

            // The Orleans serializer, so grain state keeps the version tolerance its [Id] attributes give it.
            settings.GrainStorageSerializer = new OrleansGrainStorageSerializer(services.GetRequiredService<Orleans.Serialization.Serializer>());
        }));
}
