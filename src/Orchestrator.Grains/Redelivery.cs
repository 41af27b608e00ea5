namespace Orchestrator.Grains;

/// <summary>
/// How long a sender waits for a one-way message to be acknowledged before sending it again, and how that wait grows:
/// <see cref="FirstWait"/>, then twice as long each time, up to <see cref="LongestWait"/>. Messages are sent again
/// until acknowledged, so one that is lost (its receiver's call failed, or a silo went down with it) only delays its
/// effect (docs/decisions/reminders-when-due.md).
/// </summary>
public static class Redelivery
{
    /// <summary>An acknowledgement normally comes back within milliseconds; a receiver busy with a burst may take seconds.</summary>
    public static readonly TimeSpan FirstWait = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan LongestWait = TimeSpan.FromMinutes(1);

    /// <summary>The wait after one of <paramref name="wait"/> went by unacknowledged.</summary>
    public static TimeSpan After(TimeSpan wait) => wait * 2 < LongestWait ? wait * 2 : LongestWait;
}
