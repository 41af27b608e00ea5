using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;

namespace Orchestrator.Artifacts;

/// <summary>
/// The checks on <see cref="ArtifactStoreOptions"/> that data annotations cannot express, each failure
/// naming the key and the fix, so a misconfigured worker stops at start-up rather than at its first checkpoint.
/// </summary>
internal sealed class ArtifactStoreOptionsValidator : IValidateOptions<ArtifactStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, ArtifactStoreOptions options)
    {
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.DataDirectory) && !Path.IsPathFullyQualified(options.DataDirectory))
        {
            failures.Add($"Artifacts:DataDirectory '{options.DataDirectory}' is relative, so it would depend on the working directory: give an absolute path");
        }

        if (options.RetryMaxDelay < options.RetryBaseDelay)
        {
            failures.Add($"Artifacts:RetryMaxDelay ({options.RetryMaxDelay}) is shorter than Artifacts:RetryBaseDelay ({options.RetryBaseDelay}): raise it or lower the base delay");
        }

        if (options.Kind == ArtifactStoreKind.AzureBlob)
        {
            if (string.IsNullOrWhiteSpace(options.AzureBlobConnectionString))
            {
                failures.Add(
                    "Artifacts:AzureBlobConnectionString is required when Artifacts:Kind is AzureBlob: set it to the storage account's " +
                    "connection string (e.g. the environment variable Artifacts__AzureBlobConnectionString), or set Artifacts:Kind to Folder");
            }
            else if (!IsConnectionString(options.AzureBlobConnectionString))
            {
                // The value is a secret, so the message names the key but does not echo it.
                failures.Add(
                    "Artifacts:AzureBlobConnectionString is not a storage connection string: expected the form " +
                    "DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;EndpointSuffix=core.windows.net");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsConnectionString(string value)
    {
        try
        {
            // Parsing only: the client opens no connection until it is used.
            _ = new BlobServiceClient(value);
            return true;
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }
}
