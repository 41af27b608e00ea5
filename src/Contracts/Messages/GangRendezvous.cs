namespace Orchestrator.Contracts.Messages;

/// <summary>How the members of a gang find each other: rank 0's worker coordinates.</summary>
public sealed record GangRendezvous
{
    /// <summary>Every worker of the gang, in rank order.</summary>
    public required IReadOnlyList<string> WorkerIds { get; init; }

    /// <summary>A name unique to this run's gang, e.g. for a process group.</summary>
    public required string Group { get; init; }
}
