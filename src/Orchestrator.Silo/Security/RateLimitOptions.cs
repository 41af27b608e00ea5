using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Silo.Security;

/// <summary>
/// Requests per caller (an API key's owner, a token's subject, or else the client address), as a token bucket:
/// <see cref="Burst"/> at once, refilled by <see cref="PermitsPerSecond"/>. Health checks and metrics are not limited.
/// </summary>
public sealed record RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Sustained requests per second per caller; 0 turns the limit off.</summary>
    [Range(0, 1_000_000)]
    public int PermitsPerSecond { get; init; } = 50;

    /// <summary>Requests a caller may make at once before the sustained rate applies.</summary>
    [Range(1, 1_000_000)]
    public int Burst { get; init; } = 200;
}
