using Azure.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orchestrator.Grains;
using Orchestrator.Grains.Events;
using Orchestrator.Silo.Hosting;
using Orleans.Clustering.AzureStorage;
using Orleans.Configuration;
using Orleans.Reminders.AzureStorage;
using Orleans.Storage;

namespace Orchestrator.Silo.Tests.Hosting;

/// <summary>
/// What the cluster registers for Azure Storage, read from a built (not started) host: the clients every provider uses,
/// built from an account name with the given credential or from a connection string; the serializer of every grain storage.
/// </summary>
public sealed class ClusterStorageRegistrationTests
{
    private const string Account = "orchteststate";

    [Fact]
    public async Task An_account_name_gives_every_provider_clients_of_that_account_that_authenticate_with_the_registered_credential()
    {
        var credential = new RecordingCredential();
        using var host = Build(new ClusterStorageOptions { AccountName = Account }, credential);

        var membership = host.Services.GetRequiredService<IOptions<AzureStorageClusteringOptions>>().Value.TableServiceClient;
        var reminders = host.Services.GetRequiredService<IOptions<AzureTableReminderStorageOptions>>().Value.TableServiceClient;
        var blobOptions = host.Services.GetRequiredService<IOptionsMonitor<AzureBlobStorageOptions>>();
        var state = blobOptions.Get(OrchestratorStorage.Name).BlobServiceClient;
        var pubSub = blobOptions.Get(ExperimentEventStreams.PubSubStore).BlobServiceClient;

        Assert.Equal(new Uri($"https://{Account}.table.core.windows.net/"), membership!.Uri);
        Assert.Same(membership, reminders);
        Assert.Equal(new Uri($"https://{Account}.blob.core.windows.net/"), state!.Uri);
        Assert.Same(state, pubSub);

        // The first request of each asks the credential for a storage token before anything leaves the process.
        await Assert.ThrowsAsync<CredentialAsked>(() => state.GetPropertiesAsync());
        await Assert.ThrowsAsync<CredentialAsked>(() => membership.GetPropertiesAsync());
        Assert.Equal(["https://storage.azure.com/.default", "https://storage.azure.com/.default"], credential.Scopes);
    }

    [Fact]
    public void A_connection_string_gives_the_providers_clients_of_its_endpoints_and_never_asks_for_a_credential()
    {
        var credential = new RecordingCredential();
        const string connection = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;" +
            "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;TableEndpoint=http://127.0.0.1:2/devstoreaccount1;";
        using var host = Build(new ClusterStorageOptions { ConnectionString = connection }, credential);

        var membership = host.Services.GetRequiredService<IOptions<AzureStorageClusteringOptions>>().Value.TableServiceClient;
        var state = host.Services.GetRequiredService<IOptionsMonitor<AzureBlobStorageOptions>>().Get(OrchestratorStorage.Name).BlobServiceClient;

        Assert.Equal(new Uri("http://127.0.0.1:2/devstoreaccount1"), membership!.Uri);
        Assert.Equal(new Uri("http://127.0.0.1:1/devstoreaccount1"), state!.Uri);
        Assert.Empty(credential.Scopes);
    }

    [Fact]
    public void Every_grain_storage_writes_with_the_orleans_serializer_into_the_service_s_container()
    {
        using var host = Build(new ClusterStorageOptions { AccountName = Account }, new RecordingCredential());
        var blobOptions = host.Services.GetRequiredService<IOptionsMonitor<AzureBlobStorageOptions>>();

        foreach (var name in new[] { OrchestratorStorage.Name, ExperimentEventStreams.PubSubStore })
        {
            Assert.IsType<OrleansGrainStorageSerializer>(blobOptions.Get(name).GrainStorageSerializer);
            Assert.Equal("state-orchestrator-test-1", blobOptions.Get(name).ContainerName);
        }
    }

    [Theory]
    [InlineData("orchestrator", "state-orchestrator")]
    [InlineData("Team A/BLIP__runs", "state-team-a-blip-runs")]
    public void The_state_container_is_named_after_the_service_unless_given(string serviceId, string container)
    {
        Assert.Equal(container, new ClusterStorageOptions().StateContainerFor(serviceId));
        Assert.True(ClusterStorageOptions.IsContainerName(container));
        Assert.Equal("mine", new ClusterStorageOptions { StateContainer = "mine" }.StateContainerFor(serviceId));
    }

    [Theory]
    [InlineData("blob", "/devstoreaccount1/state-x/experiment-index-experimentindex%2F0.json", "experiment-index")]
    [InlineData("blob", "/devstoreaccount1/state-x/experiment-index-partition-experimentindexpartition%2F29944132.json", "experiment-index-partition")]
    [InlineData("blob", "/devstoreaccount1/state-x/experiment-index-day-experimentindexday%2F20794.json", "experiment-index-day")]
    [InlineData("blob", "/devstoreaccount1/state-x/experiment-index-directory-experimentindexdirectory%2F0.json", "experiment-index-directory")]
    [InlineData("blob", "/devstoreaccount1/state-x/experiment-experiment%2Fab.json", "experiment")]
    [InlineData("blob", "/devstoreaccount1/state-x/stage-stage%2Fab%2Fdata.json", "stage")]
    [InlineData("blob", "/devstoreaccount1/state-x", "container")]
    [InlineData("table", "/devstoreaccount1/OrleansSiloInstances(PartitionKey='a',RowKey='b')", "membership")]
    [InlineData("table", "/devstoreaccount1/OrleansReminders()", "reminders")]
    [InlineData("table", "/devstoreaccount1/Tables", "tables")]
    [InlineData("table", "devstoreaccount1/OrleansSiloInstances(PartitionKey='a',RowKey='b')", "membership")]
    [InlineData("blob", "devstoreaccount1/state-x/stage-stage/exp-1/data.json", "stage")]
    public void Storage_requests_are_counted_by_what_they_are_about(string service, string path, string subject) =>
        Assert.Equal(subject, new StorageRequestMetrics(service) { BasePath = "/devstoreaccount1" }.Subject(path));

    [Theory]
    [InlineData("--batch_1\r\nPATCH http://127.0.0.1/devstoreaccount1/OrleansSiloInstances(PartitionKey='a',RowKey='b') HTTP/1.1\r\n", "membership")]
    [InlineData("--batch_1\r\nPUT http://127.0.0.1/devstoreaccount1/OrleansReminders(PartitionKey='a',RowKey='b') HTTP/1.1\r\n", "reminders")]
    [InlineData("--batch_1\r\n", "batch")]
    public void A_table_batch_is_counted_by_the_table_its_body_names(string body, string subject) =>
        Assert.Equal(subject, StorageRequestMetrics.BatchSubject(Azure.Core.RequestContent.Create(body)));

    private static IHost Build(ClusterStorageOptions storage, TokenCredential credential)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddKeyedSingleton(ClusterStorageClients.CredentialKey, credential);
        var options = new OrchestratorOptions { Mode = OrchestratorMode.Cluster, ServiceId = "orchestrator-test-1", Storage = storage };
        builder.UseOrleans(silo => silo.UseClusterStorage(options));
        return builder.Build();
    }

    private sealed class CredentialAsked : Exception;

    /// <summary>Records the scopes asked for, then refuses, so no request is sent.</summary>
    private sealed class RecordingCredential : TokenCredential
    {
        public List<string> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            lock (Scopes)
            {
                Scopes.AddRange(requestContext.Scopes);
            }

            throw new CredentialAsked();
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
