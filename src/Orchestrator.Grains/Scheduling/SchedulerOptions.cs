using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Grains.Scheduling;

/// <summary>How the scheduler watches workers.</summary>
public sealed record SchedulerOptions
{
    public const string Section = "Scheduler";

    /// <summary>A worker silent for longer is declared lost and its runs are retried elsewhere.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// After a broker outage, how long each worker has to be heard again before it is declared lost (the heartbeat
    /// timeout if that is longer). Workers reconnect on their own schedule: MassTransit backs off up to 30 s between
    /// attempts, so a worker may be heard well after the orchestrator itself has reconnected.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan ReconnectGrace { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the scheduler looks for silent workers.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The most workers one stage may ask for (<c>resources.workers</c>); a larger gang is refused at submission
    /// instead of waiting forever. Set it to the number of workers the cluster can grow to.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxGangSize { get; init; } = 64;
}
