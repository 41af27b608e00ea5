namespace Orchestrator.Grains;

/// <summary>
/// The grains read time through a keyed <see cref="TimeProvider"/>, not the container's default one, so tests
/// can drive lifecycle time (backoffs, heartbeat timeouts) with a fake clock without freezing Orleans' own timers.
/// </summary>
public static class OrchestratorClock
{
    public const string Key = "orchestrator";
}
