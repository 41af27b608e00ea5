namespace Orchestrator.Artifacts;

/// <summary>
/// An artifact whose manifest is not in the store: never committed, deleted, or only half-written by a
/// commit that crashed. Distinct from a transient I/O failure, which is retried rather than reported.
/// </summary>
public sealed class ArtifactNotFoundException(string uri, string problem)
    : Exception($"artifact {uri} was not found: {problem}")
{
    public string Uri { get; } = uri;
}
