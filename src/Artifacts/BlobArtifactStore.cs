using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Contracts.Messages;

namespace Orchestrator.Artifacts;

/// <summary>
/// Artifacts in an Azure Blob Storage container: blobs <c>{experimentId}/{stageId}/{runId}/{name}/{path}</c>
/// and <c>.../{name}/manifest.json</c>. Blob storage has no rename, so a commit uploads every file first
/// and the manifest last, only if none exists yet: an artifact exists for readers exactly when its
/// manifest does, and a manifest never names a file that is not there. Fetching downloads into
/// <c>{DataDirectory}/cache</c>, keeping files already there with the right hash.
/// </summary>
public sealed partial class BlobArtifactStore : IArtifactStore
{
    private const string Sha256Metadata = "sha256";
    private const int NotFound = 404;
    private const int Conflict = 409;
    private const int PreconditionFailed = 412;

    // Blocks of 8 MiB, four in flight: the upload stream cannot seek (see HashingReadStream), so the SDK
    // buffers each block, and this bounds that memory at 32 MiB per file.
    private const int TransferSize = 8 << 20;
    private const int TransferConcurrency = 4;

    private static readonly string ManifestSuffix = "/" + ArtifactLayout.ManifestFileName;

    private readonly BlobServiceClient _service;
    private readonly BlobContainerClient _container;
    private readonly string _cacheRoot;
    private readonly ArtifactStoreResilience _resilience;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<BlobArtifactStore> _logger;
    private volatile bool _containerReady;

    public BlobArtifactStore(
        IOptions<ArtifactStoreOptions> options, ArtifactStoreResilience resilience, TimeProvider timeProvider, ILogger<BlobArtifactStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        if (string.IsNullOrWhiteSpace(settings.AzureBlobConnectionString))
        {
            throw new ArgumentException("Artifacts:AzureBlobConnectionString is empty: set it to the storage account's connection string", nameof(options));
        }

        // Polly is the one retry layer: the SDK's own retries would multiply with it and hide failures
        // from the circuit breaker.
        var clientOptions = new BlobClientOptions { Retry = { MaxRetries = 0 } };
        _service = new BlobServiceClient(settings.AzureBlobConnectionString, clientOptions);
        _container = _service.GetBlobContainerClient(settings.Container);
        _cacheRoot = Path.Combine(Path.GetFullPath(settings.DataDirectory), "cache");
        _resilience = resilience;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The container commits go to and listings read.</summary>
    public BlobContainerClient Container => _container;

    public async Task<ArtifactReference> CommitAsync(ArtifactDraft draft, string sourceDirectory, CancellationToken cancellationToken = default)
    {
        var prefix = string.Join('/', ArtifactLayout.Segments(draft)) + "/";
        var sourceFiles = ArtifactLayout.ListSourceFiles(sourceDirectory);

        // Hashes come first: blob metadata is set with the upload, and a retried commit is recognised by them.
        var files = new List<ArtifactFile>(sourceFiles.Count);
        foreach (var file in sourceFiles)
        {
            var digest = await ArtifactHashing.HashFileAsync(Path.Combine(sourceDirectory, file), cancellationToken);
            files.Add(new ArtifactFile(file, digest.Size, digest.Sha256));
        }

        await EnsureContainerAsync(cancellationToken);
        var manifestBlob = _container.GetBlobClient(prefix + ArtifactLayout.ManifestFileName);
        var uri = manifestBlob.Uri.AbsoluteUri;
        if (await TryReadManifestAsync(manifestBlob, uri, expectedSha256: null, cancellationToken) is { } existing)
        {
            // Checked before uploading anything, so a conflicting commit cannot overwrite a committed artifact's files.
            return SameOrConflict(existing.Manifest, draft, files);
        }

        foreach (var file in files)
        {
            var blob = _container.GetBlobClient(prefix + file.Path);
            var path = Path.Combine(sourceDirectory, file.Path);
            await _resilience.Pipeline.ExecuteAsync(async token => await UploadFileAsync(blob, path, file, token), cancellationToken);
        }

        var manifest = ArtifactManifestFormat.Create(draft, uri, _timeProvider.GetUtcNow(), files);
        var bytes = ArtifactManifestFormat.Serialize(manifest);
        var upload = new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
            Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
        };
        try
        {
            await _resilience.Pipeline.ExecuteAsync(
                async token => await manifestBlob.UploadAsync(BinaryData.FromBytes(bytes), upload, token), cancellationToken);
        }
        catch (RequestFailedException exception) when (exception.Status is Conflict or PreconditionFailed)
        {
            // Either an earlier attempt of this upload went through and only its response was lost, or a
            // concurrent commit of the same name won; which one, the content says.
            var winner = await TryReadManifestAsync(manifestBlob, uri, expectedSha256: null, cancellationToken)
                ?? throw new InvalidOperationException($"artifact {uri}: the manifest was reported to exist, then was not found", exception);
            return SameOrConflict(winner.Manifest, draft, files);
        }

        LogCommitted(_logger, uri, files.Count);
        return manifest.Reference with { Sha256 = ArtifactHashing.Sha256(bytes) };
    }

    public async Task<LocalArtifact> FetchAsync(ArtifactReference reference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var (containerName, segments) = Locate(reference.Uri);
        var container = _service.GetBlobContainerClient(containerName);
        var prefix = string.Join('/', segments) + "/";
        var stored = await TryReadManifestAsync(container.GetBlobClient(prefix + ArtifactLayout.ManifestFileName), reference.Uri, reference.Sha256, cancellationToken)
            ?? throw new ArtifactNotFoundException(reference.Uri, "there is no manifest blob: the artifact was never committed, its commit did not finish, or it was deleted");

        var directory = Path.Combine([_cacheRoot, _service.AccountName, containerName, .. segments]);
        Directory.CreateDirectory(directory);
        foreach (var file in stored.Manifest.Files)
        {
            var target = Path.Combine(directory, file.Path);
            if (await IsCachedAsync(target, file, cancellationToken))
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var blob = container.GetBlobClient(prefix + file.Path);
            await _resilience.Pipeline.ExecuteAsync(
                async token => await DownloadFileAsync(blob, reference.Uri, file, target, token), cancellationToken);
        }

        await ReplaceFileAsync(Path.Combine(directory, ArtifactLayout.ManifestFileName), stored.Bytes, cancellationToken);
        DeleteFilesNotIn(directory, stored.Manifest);
        return new LocalArtifact(stored.Manifest, directory);
    }

    private static async Task UploadFileAsync(BlobClient blob, string path, ArtifactFile expected, CancellationToken cancellationToken)
    {
        await using var source = new HashingReadStream(ArtifactHashing.OpenRead(path));
        await blob.UploadAsync(source, new BlobUploadOptions
        {
            Metadata = new Dictionary<string, string> { [Sha256Metadata] = expected.Sha256 },
            TransferOptions = new StorageTransferOptions
            {
                InitialTransferSize = TransferSize,
                MaximumTransferSize = TransferSize,
                MaximumConcurrency = TransferConcurrency,
            },
        }, cancellationToken);

        if (source.Digest() != new FileDigest(expected.Size, expected.Sha256))
        {
            throw new InvalidOperationException(
                $"'{path}' changed while it was being committed (the uploaded bytes do not match the hash taken before): " +
                "commit a folder that nothing is still writing to");
        }
    }

    private static async Task DownloadFileAsync(BlobClient blob, string uri, ArtifactFile file, string target, CancellationToken cancellationToken)
    {
        // Downloaded beside the target and moved over it only once verified, so neither a torn download nor
        // corrupt bytes ever sit in the cache under the file's name.
        var partial = $"{target}.part-{Guid.NewGuid():N}";
        try
        {
            Response<BlobDownloadStreamingResult> response;
            try
            {
                response = await blob.DownloadStreamingAsync(new BlobDownloadOptions(), cancellationToken);
            }
            catch (RequestFailedException exception) when (exception.Status == NotFound)
            {
                throw new ArtifactCorruptException(uri, $"file '{file.Path}' is missing");
            }

            FileDigest digest;
            using (response.Value)
            {
                digest = await ArtifactHashing.CopyToNewFileAsync(response.Value.Content, partial, cancellationToken);
            }

            ArtifactManifestFormat.Verify(uri, file, digest);
            File.Move(partial, target, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
        }
    }

    private static async Task<bool> IsCachedAsync(string path, ArtifactFile file, CancellationToken cancellationToken)
    {
        var info = new FileInfo(path);
        if (!info.Exists || info.Length != file.Size)
        {
            return false;
        }

        var digest = await ArtifactHashing.HashFileAsync(path, cancellationToken);
        return string.Equals(digest.Sha256, file.Sha256, StringComparison.OrdinalIgnoreCase);
    }

    private static async Task ReplaceFileAsync(string path, byte[] bytes, CancellationToken cancellationToken)
    {
        var partial = $"{path}.part-{Guid.NewGuid():N}";
        try
        {
            await ArtifactHashing.WriteNewFileAsync(partial, bytes, cancellationToken);
            File.Move(partial, path, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
        }
    }

    /// <summary>
    /// Leaves the cache folder holding exactly the artifact, so code reading the folder never sees a stray
    /// file. Another fetch's in-flight downloads (<c>.part-*</c>) are left alone.
    /// </summary>
    private static void DeleteFilesNotIn(string directory, ArtifactManifest manifest)
    {
        var expected = manifest.Files.Select(file => file.Path).Append(ArtifactLayout.ManifestFileName).ToHashSet(StringComparer.Ordinal);
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 };
        foreach (var path in Directory.EnumerateFiles(directory, "*", options))
        {
            var relative = Path.GetRelativePath(directory, path).Replace(Path.DirectorySeparatorChar, '/');
            if (!expected.Contains(relative) && !Path.GetFileName(path).Contains(".part-", StringComparison.Ordinal))
            {
                File.Delete(path);
            }
        }
    }

    private async Task<StoredManifest?> TryReadManifestAsync(BlobClient blob, string uri, string? expectedSha256, CancellationToken cancellationToken)
    {
        var bytes = await _resilience.Pipeline.ExecuteAsync<byte[]?>(async token =>
        {
            try
            {
                var response = await blob.DownloadContentAsync(token);
                return response.Value.Content.ToArray();
            }
            catch (RequestFailedException exception) when (exception.Status == NotFound)
            {
                return null;
            }
        }, cancellationToken);
        return bytes is null ? null : new StoredManifest(ArtifactManifestFormat.Read(bytes, uri, expectedSha256), bytes);
    }

    private ArtifactReference SameOrConflict(ArtifactManifest committed, ArtifactDraft draft, IReadOnlyList<ArtifactFile> files)
    {
        if (!ArtifactManifestFormat.SameContent(committed, draft.Type, files))
        {
            throw ArtifactManifestFormat.Conflict(committed, draft);
        }

        LogAlreadyCommitted(_logger, committed.Reference.Uri);
        return committed.Reference;
    }

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (_containerReady)
        {
            return;
        }

        await _resilience.Pipeline.ExecuteAsync(
            async token => await _container.CreateIfNotExistsAsync(PublicAccessType.None, metadata: null, cancellationToken: token), cancellationToken);
        _containerReady = true;
    }

    /// <summary>
    /// The container and artifact path of a manifest URI. Only URIs in this store's account are accepted:
    /// the store's credentials would otherwise be sent to whatever host a message named.
    /// </summary>
    private (string Container, string[] Segments) Locate(string uri)
    {
        var account = _service.Uri.AbsoluteUri.TrimEnd('/') + "/";
        var parts = uri.StartsWith(account, StringComparison.Ordinal) && !uri.Contains('?', StringComparison.Ordinal)
            ? Uri.UnescapeDataString(uri[account.Length..]).Split('/')
            : [];
        if (parts.Length != ArtifactLayout.Depth + 2
            || !string.Equals(parts[^1], ArtifactLayout.ManifestFileName, StringComparison.Ordinal)
            || !parts[..^1].All(ArtifactLayout.IsSegment))
        {
            throw new ArgumentException(
                $"'{uri}' is not a manifest in this store's storage account ({account}{{container}}/{{experiment}}/{{stage}}/{{run}}/{{name}}/" +
                $"{ArtifactLayout.ManifestFileName}): set Artifacts:AzureBlobConnectionString to the account that holds it", nameof(uri));
        }

        return (parts[0], parts[1..^1]);
    }

    private sealed record StoredManifest(ArtifactManifest Manifest, byte[] Bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Committed artifact {Uri} ({FileCount} files)")]
    private static partial void LogCommitted(ILogger logger, string uri, int fileCount);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted artifact {Uri}")]
    private static partial void LogDeleted(ILogger logger, string uri);

    [LoggerMessage(Level = LogLevel.Information, Message = "Artifact {Uri} was already committed with the same content; keeping it")]
    private static partial void LogAlreadyCommitted(ILogger logger, string uri);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Artifact {Uri} is not listed: its manifest cannot be read")]
    private static partial void LogUnlisted(ILogger logger, Exception exception, string uri);
}
