using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Orchestrator.Grains.Experiments;

/// <summary>
/// Admission control for new experiments, one per silo. Creating an experiment activates and writes every one of
/// its stages, a burst of work that, a thousand submissions at once, would queue in the thread pool in front of the
/// reports and hand-offs of the experiments already running: their dispatch latency went from under 10 ms to
/// hundreds (docs/benchmarks.md). Through this gate the burst waits in line, outside the thread pool, and only
/// <see cref="ExperimentOptions.ConcurrentCreations"/> creations run at once. The line is bounded: a creation that
/// would find more than <see cref="ExperimentOptions.MaxQueuedCreations"/> ahead of it, or would wait longer than
/// <see cref="ExperimentOptions.MaxCreationWait"/> at the pace creations have been going, is refused at once with the
/// wait it would have had, so the caller retries later instead of holding a grain call until Orleans times it out.
/// </summary>
public sealed class CreationGate(IOptions<ExperimentOptions> options, [FromKeyedServices(OrchestratorClock.Key)] TimeProvider time) : IDisposable
{
    /// <summary>What a creation is taken to cost before one has been timed (the benchmark's pace is about 6 ms).</summary>
    private static readonly TimeSpan FirstGuess = TimeSpan.FromMilliseconds(20);

    /// <summary>The weight of the newest creation in the running mean of their durations.</summary>
    private const double Smoothing = 0.2;

    private readonly SemaphoreSlim _slots = new(options.Value.ConcurrentCreations, options.Value.ConcurrentCreations);
    private readonly Lock _pace = new();
    private double _meanSeconds = FirstGuess.TotalSeconds;
    private int _admitted;

    /// <summary>Creations running or waiting for a slot.</summary>
    public int Admitted => Volatile.Read(ref _admitted);

    /// <summary>
    /// Waits for a slot unless the line is too long; the admission's <see cref="Admission.Slot"/> is given back by
    /// disposing it. A refused admission has no slot and says how long the line would have taken.
    /// </summary>
    public async Task<Admission> TryEnterAsync()
    {
        var ahead = Interlocked.Increment(ref _admitted) - 1;
        var wait = ExpectedWait(ahead);
        if (ahead >= options.Value.MaxQueuedCreations || wait > options.Value.MaxCreationWait)
        {
            Interlocked.Decrement(ref _admitted);
            return new Admission(null, wait > TimeSpan.Zero ? wait : FirstGuess);
        }

        try
        {
            await _slots.WaitAsync();
        }
        catch
        {
            Interlocked.Decrement(ref _admitted);
            throw;
        }

        return new Admission(new Slot(this, time.GetTimestamp()), TimeSpan.Zero);
    }

    /// <summary>How long a creation with <paramref name="ahead"/> creations before it waits, at the pace so far.</summary>
    public TimeSpan ExpectedWait(int ahead)
    {
        lock (_pace)
        {
            return TimeSpan.FromSeconds(ahead / (double)options.Value.ConcurrentCreations * _meanSeconds);
        }
    }

    public void Dispose() => _slots.Dispose();

    private void Leave(long startedAt)
    {
        var seconds = time.GetElapsedTime(startedAt).TotalSeconds;
        lock (_pace)
        {
            _meanSeconds += Smoothing * (seconds - _meanSeconds);
        }

        Interlocked.Decrement(ref _admitted);
        _slots.Release();
    }

    /// <summary>A slot (null when refused), or how long to wait before trying again.</summary>
    public sealed record Admission(IDisposable? Slot, TimeSpan RetryAfter);

    private sealed class Slot(CreationGate gate, long startedAt) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Leave(startedAt);
            }
        }
    }
}
