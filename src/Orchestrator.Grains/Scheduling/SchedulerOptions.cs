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

    public static readonly TimeSpan DefaultReserveAfter = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a queued run may wait without fitting before the workers it needs are held for it: until then smaller
    /// runs that fit go first (backfill); after it, no run behind it in the queue takes those workers, so a gang of 8
    /// starts once their current runs end instead of waiting for 8 to be free at the same moment.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan ReserveAfter { get; init; } = DefaultReserveAfter;

    /// <summary>
    /// The most workers one stage may ask for (<c>resources.workers</c>); a larger gang is refused at submission
    /// instead of waiting forever. Set it to the number of workers the cluster can grow to.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxGangSize { get; init; } = 64;

    /// <summary>
    /// How many running experiments the scheduler asks to catch up at once after its activation or a silo's departure
    /// (<see cref="CatchUpQueue"/>): the rest wait their turn, so that 100,000 catching up do not bury heartbeats and
    /// placements under their answers.
    /// </summary>
    [Range(1, 100_000)]
    public int CatchUpsInFlight { get; init; } = 256;
}
