using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Blobs;

namespace Orchestrator.Silo.Hosting;

/// <summary>
/// The table and blob clients every Azure Storage provider of the cluster shares: built once from
/// <see cref="ClusterStorageOptions"/>, with the bounded tries (<see cref="ClusterStorageOptions.TryTimeout"/>,
/// <see cref="ClusterStorageOptions.MaxRetries"/>) and the request counter in their pipelines.
/// </summary>
public sealed class ClusterStorageClients
{
    /// <summary>The key of the <see cref="TokenCredential"/> used with <see cref="ClusterStorageOptions.AccountName"/>; <c>DefaultAzureCredential</c> unless one is registered.</summary>
    public const string CredentialKey = "orchestrator-storage";

    public ClusterStorageClients(ClusterStorageOptions options, Func<TokenCredential> credential)
    {
        var tableMetrics = new StorageRequestMetrics("table");
        var tableOptions = new TableClientOptions();
        Bound(tableOptions, options, tableMetrics);
        var blobMetrics = new StorageRequestMetrics("blob");
        var blobOptions = new BlobClientOptions();
        Bound(blobOptions, options, blobMetrics);

        if (options.UsesCredential)
        {
            var token = credential();
            Tables = new TableServiceClient(new Uri($"https://{options.AccountName}.table.core.windows.net"), token, tableOptions);
            Blobs = new BlobServiceClient(new Uri($"https://{options.AccountName}.blob.core.windows.net"), token, blobOptions);
        }
        else
        {
            Tables = new TableServiceClient(options.ConnectionString, tableOptions);
            Blobs = new BlobServiceClient(options.ConnectionString, blobOptions);
        }

        tableMetrics.BasePath = Tables.Uri.AbsolutePath;
        blobMetrics.BasePath = Blobs.Uri.AbsolutePath;
    }

    public TableServiceClient Tables { get; }

    public BlobServiceClient Blobs { get; }

    private static void Bound(Azure.Core.ClientOptions client, ClusterStorageOptions options, StorageRequestMetrics metrics)
    {
        client.Retry.Mode = RetryMode.Exponential;
        client.Retry.MaxRetries = options.MaxRetries;
        client.Retry.Delay = options.RetryDelay;
        client.Retry.MaxDelay = options.RetryDelay * 4;
        client.Retry.NetworkTimeout = options.TryTimeout;
        client.AddPolicy(metrics, HttpPipelinePosition.PerRetry);
    }
}
