using Azure;
using Azure.Storage.Blobs.Models;
using Orchestrator.Contracts.Messages;

namespace Orchestrator.Artifacts;

/// <summary>The blob store's listings (by stage and by experiment) and deletion.</summary>
public sealed partial class BlobArtifactStore
{
    public async Task<IReadOnlyList<ArtifactManifest>> ListAsync(string experimentId, string stageId, CancellationToken cancellationToken = default)
    {
        ArtifactLayout.CheckSegment(experimentId, nameof(experimentId));
        ArtifactLayout.CheckSegment(stageId, nameof(stageId));
        return await ListManifestsAsync($"{experimentId}/{stageId}/", cancellationToken);
    }

    public async Task<IReadOnlyList<ArtifactManifest>> ListExperimentAsync(string experimentId, CancellationToken cancellationToken = default)
    {
        ArtifactLayout.CheckSegment(experimentId, nameof(experimentId));
        return await ListManifestsAsync($"{experimentId}/", cancellationToken);
    }

    public async Task DeleteAsync(ArtifactReference reference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var (containerName, segments) = Locate(reference.Uri);
        var container = _service.GetBlobContainerClient(containerName);
        var prefix = string.Join('/', segments) + "/";
        await _resilience.Pipeline.ExecuteAsync(
            async token =>
            {
                // The manifest first: without it no listing or fetch finds the artifact, whatever files are left.
                await container.GetBlobClient(prefix + ArtifactLayout.ManifestFileName).DeleteIfExistsAsync(cancellationToken: token);
                try
                {
                    await foreach (var item in container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, token))
                    {
                        await container.GetBlobClient(item.Name).DeleteIfExistsAsync(cancellationToken: token);
                    }
                }
                catch (RequestFailedException exception) when (exception.Status == NotFound)
                {
                    // No container: nothing to delete.
                }
            },
            cancellationToken);
        var local = Path.Combine([_cacheRoot, _service.AccountName, containerName, .. segments]);
        if (Directory.Exists(local))
        {
            Directory.Delete(local, recursive: true);
        }

        LogDeleted(_logger, reference.Uri);
    }

    private async Task<IReadOnlyList<ArtifactManifest>> ListManifestsAsync(string prefix, CancellationToken cancellationToken)
    {
        var names = await _resilience.Pipeline.ExecuteAsync(async token => await ListManifestNamesAsync(prefix, token), cancellationToken);

        var manifests = new List<ArtifactManifest>(names.Count);
        foreach (var name in names)
        {
            var blob = _container.GetBlobClient(name);
            try
            {
                // Null when deleted between the listing and now: then it is simply no longer there.
                if (await TryReadManifestAsync(blob, blob.Uri.AbsoluteUri, expectedSha256: null, cancellationToken) is { } stored)
                {
                    manifests.Add(stored.Manifest);
                }
            }
            catch (ArtifactCorruptException exception)
            {
                // One unreadable manifest must not hide the stage's other artifacts (the checkpoint fallback
                // depends on finding them); it is reported, and fetching it would fail anyway.
                LogUnlisted(_logger, exception, blob.Uri.AbsoluteUri);
            }
        }

        return [.. manifests.OrderBy(manifest => manifest.CommittedAt).ThenBy(manifest => manifest.Reference.Uri, StringComparer.Ordinal)];
    }

    private async Task<List<string>> ListManifestNamesAsync(string prefix, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        try
        {
            await foreach (var item in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken))
            {
                // Only a manifest at an artifact's root: an artifact may hold its own manifest.json deeper down.
                var segments = item.Name.Split('/');
                if (item.Name.EndsWith(ManifestSuffix, StringComparison.Ordinal)
                    && segments.Length == ArtifactLayout.Depth + 1
                    && segments[..ArtifactLayout.Depth].All(ArtifactLayout.IsSegment))
                {
                    names.Add(item.Name);
                }
            }
        }
        catch (RequestFailedException exception) when (exception.Status == NotFound)
        {
            // No container yet: nothing was ever committed.
            return [];
        }

        return names;
    }
}
