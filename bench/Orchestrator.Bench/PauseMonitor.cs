using System.Diagnostics;

namespace Orchestrator.Bench;

/// <summary>
/// Tells a pause of the whole process from queueing inside it: a thread of its own wakes every millisecond and records
/// the longest gap it saw, next to the garbage collector's own count of pause time. A dispatch tail as long as the
/// longest gap is a stall of the process (a collection, or the operating system giving the cores to another
/// process); a tail much longer than it is work waiting in the process's queues.
/// </summary>
internal sealed class PauseMonitor : IDisposable
{
    private readonly Thread _thread;
    private readonly TimeSpan _gcPauseAtStart = GC.GetTotalPauseDuration();
    private readonly int[] _collectionsAtStart = [.. Enumerable.Range(0, GC.MaxGeneration + 1).Select(GC.CollectionCount)];
    private volatile bool _stopping;
    private long _longestGapTicks;
    private int _mostThreads;
    private long _longestQueue;

    public PauseMonitor()
    {
        _thread = new Thread(Watch) { IsBackground = true, Name = "bench pause monitor", Priority = ThreadPriority.Highest };
        _thread.Start();
    }

    public double LongestGapMs => TimeSpan.FromTicks(Interlocked.Read(ref _longestGapTicks)).TotalMilliseconds;

    /// <summary>The most thread-pool threads seen at once: growth past the cores means work was blocked or starved.</summary>
    public int MostThreadPoolThreads => Volatile.Read(ref _mostThreads);

    /// <summary>The longest the thread pool's queue of work items was, sampled every 10 ms.</summary>
    public long LongestThreadPoolQueue => Interlocked.Read(ref _longestQueue);

    public double GcPauseMs => (GC.GetTotalPauseDuration() - _gcPauseAtStart).TotalMilliseconds;

    /// <summary>Collections of each generation since the monitor started.</summary>
    public int[] Collections => [.. _collectionsAtStart.Select((start, generation) => GC.CollectionCount(generation) - start)];

    public void Dispose()
    {
        _stopping = true;
        _thread.Join();
    }

    private void Watch()
    {
        var last = Stopwatch.GetTimestamp();
        for (var tick = 0L; !_stopping; tick++)
        {
            Thread.Sleep(1);
            if (tick % 10 == 0)
            {
                _mostThreads = Math.Max(_mostThreads, ThreadPool.ThreadCount);
                _longestQueue = Math.Max(_longestQueue, ThreadPool.PendingWorkItemCount);
            }

            var now = Stopwatch.GetTimestamp();
            var gap = Stopwatch.GetElapsedTime(last, now).Ticks;
            if (gap > Interlocked.Read(ref _longestGapTicks))
            {
                Interlocked.Exchange(ref _longestGapTicks, gap);
            }

            last = now;
        }
    }
}
