namespace Orchestrator.Contracts.Messages;

/// <summary>
/// A rank of a gang publishes a value in its run's rendezvous store (NCCL's unique id, Gloo's addresses): a request to
/// <see cref="QueueNames.OrchestratorRendezvous"/>, answered by <see cref="RendezvousReply"/>. The store belongs to
/// the run id, which is new for every generation (attempt), so nothing crosses generations.
/// </summary>
public sealed record RendezvousSet : IStageRunMessage
{
    public required string RunId { get; init; }
    public required string ExperimentId { get; init; }
    public required string StageId { get; init; }
    public required int Rank { get; init; }
    public required string Key { get; init; }
    public required byte[] Value { get; init; }
}

/// <summary>A rank asks for a value of its run's rendezvous store; the reply says <see cref="RendezvousStatus.Missing"/> until some rank set it.</summary>
public sealed record RendezvousGet : IStageRunMessage
{
    public required string RunId { get; init; }
    public required string ExperimentId { get; init; }
    public required string StageId { get; init; }
    public required int Rank { get; init; }
    public required string Key { get; init; }
}

/// <summary>The orchestrator's answer to <see cref="RendezvousSet"/> or <see cref="RendezvousGet"/>.</summary>
public sealed record RendezvousReply
{
    public required RendezvousStatus Status { get; init; }

    /// <summary>The value, for a get that found it.</summary>
    public byte[]? Value { get; init; }

    /// <summary>Why a request was refused, naming the problem and the fix.</summary>
    public string? Error { get; init; }
}

/// <summary>What became of a rendezvous request.</summary>
public enum RendezvousStatus
{
    /// <summary>Set, or found.</summary>
    Ok,

    /// <summary>No rank has set the key yet: ask again.</summary>
    Missing,

    /// <summary>The run is not the stage's current one: its generation is over, and the rank should stop.</summary>
    Stale,

    /// <summary>The request is not acceptable (a key set again with another value, a value or store too large).</summary>
    Refused,
}
