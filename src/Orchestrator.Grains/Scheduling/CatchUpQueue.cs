namespace Orchestrator.Grains.Scheduling;

/// <summary>
/// The catch-ups the scheduler has to send (<see cref="Experiments.IExperimentGrain.CatchUpAsync"/>) and those sent and
/// not yet answered. At most <paramref name="window"/> are out for the first time at once: each catch-up activates an
/// experiment and its stages and has them call the scheduler back, so 100,000 sent together would activate most of a
/// million grains at once and bury the scheduler's own calls (heartbeats, placements) under the answers. A catch-up not
/// answered within <paramref name="wait"/> leaves the window, so a few experiments that never answer cannot hold it; it
/// is sent again when due, waiting longer each time (<see cref="Redelivery"/>), until answered.
/// </summary>
public sealed class CatchUpQueue(int window, TimeSpan wait)
{
    private readonly Queue<string> _waiting = new();
    private readonly HashSet<string> _queued = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Sent> _sent = new(StringComparer.Ordinal);

    /// <summary>Experiments listed whose catch-up is not sent yet.</summary>
    public int Waiting => _waiting.Count;

    /// <summary>Catch-ups sent once, not answered and not yet overdue: what the window limits.</summary>
    public int InFlight { get; private set; }

    /// <summary>Catch-ups sent and not answered, in the window or not.</summary>
    public int Unanswered => _sent.Count;

    /// <summary>Nothing waits to be sent and nothing sent waits for its answer.</summary>
    public bool Idle => _waiting.Count == 0 && _sent.Count == 0;

    /// <summary>Queues a catch-up for each experiment not already waiting for one or for its answer.</summary>
    public void Add(IEnumerable<string> experimentIds)
    {
        foreach (var id in experimentIds)
        {
            if (!_sent.ContainsKey(id) && _queued.Add(id))
            {
                _waiting.Enqueue(id);
            }
        }
    }

    /// <summary>
    /// What to send now: <paramref name="again"/>, the overdue catch-ups (which leave the window), and
    /// <paramref name="first"/>, as many waiting ones as the window has room for, each counted as sent at <paramref name="now"/>.
    /// </summary>
    public void Due(DateTimeOffset now, out List<string> first, out List<string> again)
    {
        again = [];
        foreach (var (id, sent) in _sent)
        {
            if (sent.Due <= now)
            {
                again.Add(id);
            }
        }

        foreach (var id in again)
        {
            var sent = _sent[id];
            if (sent.InWindow)
            {
                InFlight--;
            }

            var next = Redelivery.After(sent.Wait);
            _sent[id] = new Sent(now + next, next, InWindow: false);
        }

        first = [];
        while (InFlight < window && _waiting.TryDequeue(out var id))
        {
            _queued.Remove(id);
            _sent[id] = new Sent(now + wait, wait, InWindow: true);
            InFlight++;
            first.Add(id);
        }
    }

    /// <summary>The experiment caught up; false when no catch-up of this queue was out to it (an earlier activation's).</summary>
    public bool Answered(string experimentId)
    {
        if (!_sent.Remove(experimentId, out var sent))
        {
            return false;
        }

        if (sent.InWindow)
        {
            InFlight--;
        }

        return true;
    }

    private sealed record Sent(DateTimeOffset Due, TimeSpan Wait, bool InWindow);
}
