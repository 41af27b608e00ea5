namespace Orchestrator.Contracts.Messages;

/// <summary>A reference to an artifact in the artifact store: its manifest's URI, its type and hash.</summary>
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
}
