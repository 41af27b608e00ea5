namespace Trainer.Worker.Agent;

/// <summary>
/// Watches a running run's progress (training steps and reports, checkpoints, the beats of evaluation and decoding loops)
/// and calls <paramref name="stalled"/> once it has gone <paramref name="timeout"/> without any. Heartbeats only say the
/// worker lives; this catches a run that hangs in a live worker (a stuck collective, a data source that never answers).
/// </summary>
/// <remarks>
/// One timer per run, due when the run would have been idle for the timeout; when it fires early (the run showed progress
/// meanwhile) it is set again for the rest, so a stall is caught exactly at the timeout and a busy run costs one timer
/// tick per timeout, not one per beat.
/// </remarks>
internal sealed class RunWatchdog(TimeSpan timeout, TimeProvider timeProvider, Action<RunEntry> stalled)
{
    public TimeSpan Timeout => timeout;

    /// <summary>Starts watching <paramref name="entry"/>, counting from now; disposing <see cref="RunEntry.Watchdog"/> stops it.</summary>
    public void Watch(RunEntry entry)
    {
        entry.GrantedAt = timeProvider.GetTimestamp();
        entry.Watchdog = timeProvider.CreateTimer(static state => ((Check)state!).Run(), new Check(this, entry), timeout, System.Threading.Timeout.InfiniteTimeSpan);
    }

    private sealed class Check(RunWatchdog watchdog, RunEntry entry)
    {
        public void Run()
        {
            if (entry.IsFinished || entry.Stop is not null)
            {
                return;
            }

            var idle = watchdog.TimeSince(entry.LastAliveAt);
            if (idle < watchdog.Timeout)
            {
                try
                {
                    entry.Watchdog?.Change(watchdog.Timeout - idle, System.Threading.Timeout.InfiniteTimeSpan);
                }
                catch (ObjectDisposedException)
                {
                    // The run ended meanwhile.
                }

                return;
            }

            watchdog.Stalled(entry);
        }
    }

    private TimeSpan TimeSince(long timestamp) => timeProvider.GetElapsedTime(timestamp);

    private void Stalled(RunEntry entry) => stalled(entry);
}
