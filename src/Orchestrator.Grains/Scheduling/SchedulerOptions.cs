using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Grains.Scheduling;

/// <summary>How the scheduler watches workers.</summary>
public sealed record SchedulerOptions
{
    public const string Section = "Scheduler";

    /// <summary>A worker silent for longer is declared lost and its runs are retried elsewhere.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the scheduler looks for silent workers.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromSeconds(2);
}
