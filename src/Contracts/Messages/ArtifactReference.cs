namespace Orchestrator.Contracts.Messages;

/// <summary>A reference to an artifact in the artifact store: its manifest's URI, its type, its manifest's hash and its content digest.</summary>
public sealed record ArtifactReference
{
    /// <summary>The manifest's location, e.g. <c>file:///var/lib/orchestrator/artifacts/...</c> or a blob URI.</summary>
    public required string Uri { get; init; }

    /// <summary>The artifact type, e.g. <c>dataset</c> or <c>checkpoint.blip</c>.</summary>
    public required string Type { get; init; }

    /// <summary>SHA-256 of the manifest, hex.</summary>
    public string? Sha256 { get; init; }

    /// <summary>The training step of a checkpoint.</summary>
    public long? Step { get; init; }

    /// <summary>
    /// The artifact's content address: <c>sha256:</c> and the hex SHA-256 over its files' relative paths and SHA-256s
    /// only (docs/decisions/house-layout.md), so two artifacts with the same files have the same digest whichever run
    /// committed them and when. Unlike <see cref="Sha256"/>, which covers the whole manifest (run, time, metrics), it
    /// names what the artifact holds. Absent from senders that predate it.
    /// </summary>
    public string? ContentDigest { get; init; }
}
