namespace Orchestrator.Contracts.Messages;

/// <summary>A worker leaving cleanly, after reporting its runs.</summary>
public sealed record DeregisterWorker
{
    public required string WorkerId { get; init; }
}
