namespace Orchestrator.Grains.Artifacts;

/// <summary>A reference to an artifact in the artifact store; the orchestrator passes references, never bytes.</summary>
[GenerateSerializer, Immutable, Alias("ArtifactRef")]
public sealed record ArtifactRef
{
    /// <summary>Where the artifact's manifest lives, e.g. <c>file:///data/artifacts/...</c> or a blob URI.</summary>
    [Id(0)] public required string Uri { get; init; }

    /// <summary>The artifact type, e.g. <c>dataset</c> or <c>checkpoint.blip</c>.</summary>
    [Id(1)] public required string Type { get; init; }

    /// <summary>SHA-256 of the manifest, when the producer reported it.</summary>
    [Id(2)] public string? Sha256 { get; init; }

    /// <summary>The run that produced it.</summary>
    [Id(3)] public string? RunId { get; init; }

    /// <summary>The training step a checkpoint was taken at.</summary>
    [Id(4)] public long? Step { get; init; }

    /// <summary>
    /// The artifact's content address (<c>sha256:…</c> over its files' paths and hashes), when the producer reported it:
    /// equal for two artifacts with the same files, whichever run made them. <see cref="Sha256"/> is the manifest's.
    /// </summary>
    [Id(5)] public string? ContentDigest { get; init; }
}
