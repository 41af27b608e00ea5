namespace Orchestrator.Contracts.Messages;

/// <summary>How the members of a gang find each other: rank 0's worker coordinates, and which generation of the gang this is.</summary>
public sealed record GangRendezvous
{
    /// <summary>Every worker of the gang, in rank order.</summary>
    public required IReadOnlyList<string> WorkerIds { get; init; }

    /// <summary>A name unique to this run's gang, e.g. for a process group.</summary>
    public required string Group { get; init; }

    /// <summary>
    /// The gang's generation: the stage's attempt number. A lost rank ends a generation; the next one is a new run with
    /// its own id and rendezvous store, so keys, communicators and reports never cross generations.
    /// </summary>
    public int Generation { get; init; }
}
