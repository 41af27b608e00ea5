using Microsoft.Extensions.Options;

namespace Orchestrator.Grains.Experiments;

/// <summary>
/// Admission control for new experiments, one per silo. Creating an experiment activates and writes every one of
/// its stages, a burst of work that, a thousand submissions at once, would queue in the thread pool in front of the
/// reports and hand-offs of the experiments already running: their dispatch latency went from under 10 ms to
/// hundreds (docs/benchmarks.md). Through this gate the burst waits in line, outside the thread pool, and only
/// <see cref="ExperimentOptions.ConcurrentCreations"/> creations run at once.
/// </summary>
public sealed class CreationGate(IOptions<ExperimentOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(options.Value.ConcurrentCreations, options.Value.ConcurrentCreations);

    /// <summary>Waits for a slot; disposing the result gives it back.</summary>
    public async Task<IDisposable> EnterAsync()
    {
        await _slots.WaitAsync();
        return new Slot(_slots);
    }

    public void Dispose() => _slots.Dispose();

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }
}
