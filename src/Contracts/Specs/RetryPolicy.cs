namespace Orchestrator.Contracts.Specs;

/// <summary>How often a stage is retried after retryable failures, and how long it waits in between.</summary>
public sealed record RetryPolicy
{
    /// <summary>Attempts in all, the first included.</summary>
    public int MaxAttempts { get; init; } = 3;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(10);

    public double Multiplier { get; init; } = 2.0;

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(10);
}
