using Orchestrator.Contracts.Messages;

namespace Orchestrator.Artifacts;

/// <summary>
/// Where runs read and write their artifacts (datasets, checkpoints, reports). Training code works on a
/// local folder; the store commits that folder atomically with a manifest (type, lineage, metrics and the
/// SHA-256 of every file), and fetches an artifact back into a local folder after verifying every hash.
/// Implementations: a folder under the data directory (default) and Azure Blob Storage.
/// </summary>
public interface IArtifactStore
{
    /// <summary>
    /// Commits the files under <paramref name="sourceDirectory"/> as a new artifact. Nothing is visible to
    /// readers until the manifest is committed last, so a crash leaves no half-written artifact.
    /// </summary>
    Task<ArtifactReference> CommitAsync(ArtifactDraft draft, string sourceDirectory, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes the artifact available in a local folder after checking every file against the manifest.
    /// Throws <see cref="ArtifactCorruptException"/> naming the file when a hash or size does not match.
    /// </summary>
    Task<LocalArtifact> FetchAsync(ArtifactReference reference, CancellationToken cancellationToken = default);

    /// <summary>Every committed artifact of a stage (all its runs), oldest first.</summary>
    Task<IReadOnlyList<ArtifactManifest>> ListAsync(string experimentId, string stageId, CancellationToken cancellationToken = default);

    /// <summary>Every committed artifact of an experiment (all its stages and runs), oldest first.</summary>
    Task<IReadOnlyList<ArtifactManifest>> ListExperimentAsync(string experimentId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes a committed artifact: first what makes it visible (its manifest, or its folder as a whole), so no reader
    /// finds it half deleted, then its files. Deleting an artifact that is already gone is no error.
    /// </summary>
    Task DeleteAsync(ArtifactReference reference, CancellationToken cancellationToken = default);
}

/// <summary>What a run says about an artifact it is about to commit.</summary>
public sealed record ArtifactDraft
{
    /// <summary>The artifact type, e.g. <c>dataset</c> or <c>checkpoint.blip</c>.</summary>
    public required string Type { get; init; }

    public required string ExperimentId { get; init; }
    public required string StageId { get; init; }
    public required string RunId { get; init; }

    /// <summary>The output name, or e.g. <c>checkpoint-step-000200</c>; unique within the run.</summary>
    public required string Name { get; init; }

    /// <summary>SHA-256 of the run's resolved options, so equal configurations can be recognised.</summary>
    public required string OptionsHash { get; init; }

    /// <summary>The artifacts this one was made from (lineage).</summary>
    public IReadOnlyList<ArtifactReference> Parents { get; init; } = [];

    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>The training step of a checkpoint.</summary>
    public long? Step { get; init; }
}

/// <summary>A committed artifact's manifest: the draft's facts, when it was committed, and every file with its hash.</summary>
public sealed record ArtifactManifest
{
    public required ArtifactReference Reference { get; init; }
    public required ArtifactDraft Draft { get; init; }
    public required DateTimeOffset CommittedAt { get; init; }
    public required IReadOnlyList<ArtifactFile> Files { get; init; }
}

/// <summary>One file of an artifact, its path relative to the artifact's root.</summary>
public sealed record ArtifactFile(string Path, long Size, string Sha256);

/// <summary>A verified artifact in a local folder.</summary>
public sealed record LocalArtifact(ArtifactManifest Manifest, string Directory);

/// <summary>An artifact whose bytes do not match its manifest.</summary>
public sealed class ArtifactCorruptException(string uri, string problem)
    : Exception($"artifact {uri} is corrupt: {problem}")
{
    public string Uri { get; } = uri;
}
