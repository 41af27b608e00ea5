using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Contracts.Messages;

namespace Orchestrator.Artifacts;

/// <summary>
/// Artifacts in a folder, <c>{DataDirectory}/artifacts/{experimentId}/{stageId}/{runId}/{name}/</c>, holding
/// the files and <c>manifest.json</c>. A commit builds the artifact in a <c>.tmp-*</c> folder beside its
/// destination, flushes every file and the manifest to the disk, then renames the folder into place: the
/// rename is atomic, so readers see the whole artifact or nothing. On a shared file system, several
/// workers can use one root.
/// </summary>
public sealed partial class FolderArtifactStore : IArtifactStore
{
    private readonly string _root;
    private readonly ArtifactStoreResilience _resilience;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<FolderArtifactStore> _logger;

    public FolderArtifactStore(
        IOptions<ArtifactStoreOptions> options, ArtifactStoreResilience resilience, TimeProvider timeProvider, ILogger<FolderArtifactStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _root = Path.Combine(Path.GetFullPath(options.Value.DataDirectory), "artifacts");
        _resilience = resilience;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The folder holding every experiment's artifacts.</summary>
    public string Root => _root;

    public async Task<ArtifactReference> CommitAsync(ArtifactDraft draft, string sourceDirectory, CancellationToken cancellationToken = default)
    {
        var segments = ArtifactLayout.Segments(draft);
        var sourceFiles = ArtifactLayout.ListSourceFiles(sourceDirectory);
        var destination = Path.Combine([_root, .. segments]);
        return await _resilience.Pipeline.ExecuteAsync(
            async token => await CommitOnceAsync(draft, sourceDirectory, sourceFiles, destination, token), cancellationToken);
    }

    public async Task<LocalArtifact> FetchAsync(ArtifactReference reference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var manifestPath = ManifestPath(reference.Uri);
        return await _resilience.Pipeline.ExecuteAsync(
            async token => await FetchOnceAsync(reference, manifestPath, token), cancellationToken);
    }

    public async Task<IReadOnlyList<ArtifactManifest>> ListAsync(string experimentId, string stageId, CancellationToken cancellationToken = default)
    {
        ArtifactLayout.CheckSegment(experimentId, nameof(experimentId));
        ArtifactLayout.CheckSegment(stageId, nameof(stageId));
        var stageDirectory = Path.Combine(_root, experimentId, stageId);
        return await _resilience.Pipeline.ExecuteAsync(
            async token => await ListOnceAsync(stageDirectory, token), cancellationToken);
    }

    public async Task<IReadOnlyList<ArtifactManifest>> ListExperimentAsync(string experimentId, CancellationToken cancellationToken = default)
    {
        ArtifactLayout.CheckSegment(experimentId, nameof(experimentId));
        var experimentDirectory = Path.Combine(_root, experimentId);
        if (!Directory.Exists(experimentDirectory))
        {
            return [];
        }

        var manifests = new List<ArtifactManifest>();
        foreach (var stageDirectory in Directory.EnumerateDirectories(experimentDirectory).Where(IsArtifactFolder))
        {
            manifests.AddRange(await _resilience.Pipeline.ExecuteAsync(async token => await ListOnceAsync(stageDirectory, token), cancellationToken));
        }

        return [.. manifests.OrderBy(manifest => manifest.CommittedAt).ThenBy(manifest => manifest.Reference.Uri, StringComparer.Ordinal)];
    }

    public Task DeleteAsync(ArtifactReference reference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var directory = Path.GetDirectoryName(ManifestPath(reference.Uri))!;
        if (!Directory.Exists(directory))
        {
            return Task.CompletedTask;
        }

        // The rename takes the whole artifact out of readers' sight at once (they skip staging folders); the files go after.
        var staging = Path.Combine(Path.GetDirectoryName(directory)!, ArtifactLayout.TempPrefix + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.Move(directory, staging);
        }
        catch (DirectoryNotFoundException)
        {
            return Task.CompletedTask;
        }

        DeleteStaging(staging);
        LogDeleted(_logger, reference.Uri);
        return Task.CompletedTask;
    }

    private async Task<ArtifactReference> CommitOnceAsync(
        ArtifactDraft draft, string sourceDirectory, IReadOnlyList<string> sourceFiles, string destination, CancellationToken cancellationToken)
    {
        var manifestPath = Path.Combine(destination, ArtifactLayout.ManifestFileName);
        if (Directory.Exists(destination))
        {
            // A retry of a commit that went through (or a second commit of the same name): compare in place
            // rather than copying everything first.
            var sourceDigests = new List<ArtifactFile>(sourceFiles.Count);
            foreach (var file in sourceFiles)
            {
                var digest = await ArtifactHashing.HashFileAsync(Path.Combine(sourceDirectory, file), cancellationToken);
                sourceDigests.Add(new ArtifactFile(file, digest.Size, digest.Sha256));
            }

            return await ExistingOrConflictAsync(manifestPath, draft, sourceDigests, cancellationToken);
        }

        var parent = Path.GetDirectoryName(destination)!;
        DirectoryDurability.CreateDirectory(parent);
        var staging = Path.Combine(parent, ArtifactLayout.TempPrefix + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(staging);
            var files = new List<ArtifactFile>(sourceFiles.Count);
            foreach (var file in sourceFiles)
            {
                var target = Path.Combine(staging, file);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);

                // Hash the copy as it is written, not the source, so the manifest describes exactly the bytes stored.
                var digest = await ArtifactHashing.CopyFileAsync(Path.Combine(sourceDirectory, file), target, cancellationToken);
                files.Add(new ArtifactFile(file, digest.Size, digest.Sha256));
            }

            var uri = new Uri(manifestPath).AbsoluteUri;
            var manifest = ArtifactManifestFormat.Create(draft, uri, _timeProvider.GetUtcNow(), files);
            var bytes = ArtifactManifestFormat.Serialize(manifest);
            await ArtifactHashing.WriteNewFileAsync(Path.Combine(staging, ArtifactLayout.ManifestFileName), bytes, cancellationToken);
            DirectoryDurability.FlushTree(staging);

            try
            {
                Directory.Move(staging, destination);
            }
            catch (IOException) when (Directory.Exists(destination))
            {
                // Another commit of the same name won the race; it is either this artifact or a conflict.
                return await ExistingOrConflictAsync(manifestPath, draft, files, cancellationToken);
            }

            DirectoryDurability.Flush(parent);
            LogCommitted(_logger, uri, files.Count);
            return manifest.Reference with { Sha256 = ArtifactHashing.Sha256(bytes) };
        }
        finally
        {
            DeleteStaging(staging);
        }
    }

    private async Task<ArtifactReference> ExistingOrConflictAsync(
        string manifestPath, ArtifactDraft draft, IReadOnlyList<ArtifactFile> files, CancellationToken cancellationToken)
    {
        var uri = new Uri(manifestPath).AbsoluteUri;
        var committed = await ReadManifestAsync(manifestPath, uri, expectedSha256: null, cancellationToken);
        if (!ArtifactManifestFormat.SameContent(committed, draft.Type, files))
        {
            throw ArtifactManifestFormat.Conflict(committed, draft);
        }

        LogAlreadyCommitted(_logger, uri);
        return committed.Reference;
    }

    private static async Task<LocalArtifact> FetchOnceAsync(ArtifactReference reference, string manifestPath, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(manifestPath)!;
        if (Path.GetFileName(directory).StartsWith('.'))
        {
            throw new ArtifactNotFoundException(reference.Uri, "it points into a staging folder, which holds a commit that never finished");
        }

        var manifest = await ReadManifestAsync(manifestPath, reference.Uri, reference.Sha256, cancellationToken);

        // Sizes first: a truncated or missing file is found without hashing gigabytes of the others.
        foreach (var file in manifest.Files)
        {
            var info = new FileInfo(Path.Combine(directory, file.Path));
            if (!info.Exists)
            {
                throw new ArtifactCorruptException(reference.Uri, $"file '{file.Path}' is missing");
            }

            ArtifactManifestFormat.Verify(reference.Uri, file, new FileDigest(info.Length, file.Sha256));
        }

        foreach (var file in manifest.Files)
        {
            var digest = await ArtifactHashing.HashFileAsync(Path.Combine(directory, file.Path), cancellationToken);
            ArtifactManifestFormat.Verify(reference.Uri, file, digest);
        }

        return new LocalArtifact(manifest, directory);
    }

    private async Task<IReadOnlyList<ArtifactManifest>> ListOnceAsync(string stageDirectory, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(stageDirectory))
        {
            return [];
        }

        var manifests = new List<ArtifactManifest>();
        // Staging folders start with a dot, which no id may, so the id check skips them.
        foreach (var runDirectory in Directory.EnumerateDirectories(stageDirectory).Where(IsArtifactFolder))
        {
            foreach (var artifactDirectory in Directory.EnumerateDirectories(runDirectory).Where(IsArtifactFolder))
            {
                var manifestPath = Path.Combine(artifactDirectory, ArtifactLayout.ManifestFileName);
                var uri = new Uri(manifestPath).AbsoluteUri;
                try
                {
                    manifests.Add(await ReadManifestAsync(manifestPath, uri, expectedSha256: null, cancellationToken));
                }
                catch (ArtifactNotFoundException exception)
                {
                    LogUnlisted(_logger, exception, uri);
                }
                catch (ArtifactCorruptException exception)
                {
                    // One unreadable manifest must not hide the stage's other artifacts (the checkpoint
                    // fallback depends on finding them); it is reported, and fetching it would fail anyway.
                    LogUnlisted(_logger, exception, uri);
                }
            }
        }

        return [.. manifests.OrderBy(manifest => manifest.CommittedAt).ThenBy(manifest => manifest.Reference.Uri, StringComparer.Ordinal)];
    }

    private static bool IsArtifactFolder(string path) => ArtifactLayout.IsSegment(Path.GetFileName(path));

    private static async Task<ArtifactManifest> ReadManifestAsync(string manifestPath, string uri, string? expectedSha256, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(manifestPath, cancellationToken);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ArtifactNotFoundException(uri, $"there is no {manifestPath}");
        }

        return ArtifactManifestFormat.Read(bytes, uri, expectedSha256);
    }

    private static string ManifestPath(string uri)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || !parsed.IsFile
            || !string.Equals(Path.GetFileName(parsed.LocalPath), ArtifactLayout.ManifestFileName, StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"'{uri}' is not a folder store reference: expected a file:// URI of a {ArtifactLayout.ManifestFileName}; " +
                "a blob URI needs Artifacts:Kind=AzureBlob", nameof(uri));
        }

        return parsed.LocalPath;
    }

    private void DeleteStaging(string staging)
    {
        if (!Directory.Exists(staging))
        {
            return;
        }

        try
        {
            Directory.Delete(staging, recursive: true);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Harmless to readers, who skip staging folders; reported so a full disk's cause can be found,
            // but not thrown, which would hide the commit's own outcome.
            LogStagingLeft(_logger, exception, staging);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Committed artifact {Uri} ({FileCount} files)")]
    private static partial void LogCommitted(ILogger logger, string uri, int fileCount);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted artifact {Uri}")]
    private static partial void LogDeleted(ILogger logger, string uri);

    [LoggerMessage(Level = LogLevel.Information, Message = "Artifact {Uri} was already committed with the same content; keeping it")]
    private static partial void LogAlreadyCommitted(ILogger logger, string uri);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Artifact folder of {Uri} is not listed: its manifest cannot be read")]
    private static partial void LogUnlisted(ILogger logger, Exception exception, string uri);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete the staging folder {Path}; readers ignore it, but it takes space")]
    private static partial void LogStagingLeft(ILogger logger, Exception exception, string path);
}
