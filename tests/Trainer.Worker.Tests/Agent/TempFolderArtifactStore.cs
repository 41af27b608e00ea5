using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Messages;

namespace Trainer.Worker.Tests.Agent;

/// <summary>
/// A test-only artifact store in a temp folder: copies the files, writes a JSON manifest and references it by
/// its file URI and SHA-256 with the content digest the real stores give, so tests can check a reported hash against the bytes on disk. A fetch verifies every
/// file against its hash, as the real stores do, so a test can corrupt an artifact by changing its bytes.
/// </summary>
internal sealed class TempFolderArtifactStore(string root, TimeProvider timeProvider) : IArtifactStore
{
    private readonly ConcurrentDictionary<string, LocalArtifact> _artifacts = new();

    public async Task<ArtifactReference> CommitAsync(ArtifactDraft draft, string sourceDirectory, CancellationToken cancellationToken = default)
    {
        var artifactDirectory = Path.Combine(root, Guid.NewGuid().ToString("N"));
        var filesDirectory = Path.Combine(artifactDirectory, "files");
        var files = new List<ArtifactFile>();
        foreach (var source in Directory.EnumerateFiles(sourceDirectory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(sourceDirectory, source);
            var target = Path.Combine(filesDirectory, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(source, target);
            var bytes = await File.ReadAllBytesAsync(target, cancellationToken);
            files.Add(new ArtifactFile(relative, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes))));
        }

        var manifestPath = Path.Combine(artifactDirectory, "manifest.json");
        var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(new { draft, files });
        await File.WriteAllBytesAsync(manifestPath, manifestBytes, cancellationToken);
        var reference = new ArtifactReference
        {
            Uri = new Uri(manifestPath).AbsoluteUri,
            Type = draft.Type,
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(manifestBytes)),
            Step = draft.Step,
            ContentDigest = ArtifactDigest.Of(files),
        };
        var manifest = new ArtifactManifest { Reference = reference, Draft = draft, CommittedAt = timeProvider.GetUtcNow(), Files = files };
        _artifacts[reference.Uri] = new LocalArtifact(manifest, filesDirectory);
        return reference;
    }

    public async Task<LocalArtifact> FetchAsync(ArtifactReference reference, CancellationToken cancellationToken = default)
    {
        if (!_artifacts.TryGetValue(reference.Uri, out var artifact))
        {
            throw new ArtifactCorruptException(reference.Uri, "not in this store");
        }

        foreach (var file in artifact.Manifest.Files)
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(artifact.Directory, file.Path), cancellationToken);
            if (Convert.ToHexStringLower(SHA256.HashData(bytes)) != file.Sha256)
            {
                throw new ArtifactCorruptException(reference.Uri, $"file '{file.Path}' does not match its SHA-256");
            }
        }

        return artifact;
    }

    /// <summary>The local file of <paramref name="path"/> in the artifact, for a test to corrupt.</summary>
    public string FileOf(ArtifactReference reference, string path) => Path.Combine(_artifacts[reference.Uri].Directory, path);

    public Task<IReadOnlyList<ArtifactManifest>> ListAsync(string experimentId, string stageId, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<ArtifactManifest>>(
            [.. _artifacts.Values.Select(artifact => artifact.Manifest)
                .Where(manifest => manifest.Draft.ExperimentId == experimentId && manifest.Draft.StageId == stageId)
                .OrderBy(manifest => manifest.CommittedAt)]);

    public Task<IReadOnlyList<ArtifactManifest>> ListExperimentAsync(string experimentId, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<ArtifactManifest>>(
            [.. _artifacts.Values.Select(artifact => artifact.Manifest).Where(manifest => manifest.Draft.ExperimentId == experimentId).OrderBy(manifest => manifest.CommittedAt)]);

    public Task DeleteAsync(ArtifactReference reference, CancellationToken cancellationToken = default)
    {
        if (_artifacts.TryRemove(reference.Uri, out var artifact))
        {
            Directory.Delete(Path.GetDirectoryName(artifact.Directory)!, recursive: true);
        }

        return Task.CompletedTask;
    }
}
