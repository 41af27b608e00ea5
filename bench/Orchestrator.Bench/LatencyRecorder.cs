using System.Diagnostics.Metrics;
using Orchestrator.Grains;

namespace Orchestrator.Bench;

/// <summary>Listens to the orchestrator's own instruments: every dispatch latency, and the count of stage transitions.</summary>
internal sealed class LatencyRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<double> _dispatchSeconds = [];
    private readonly Lock _lock = new();
    private long _transitions;

    public LatencyRecorder()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == OrchestratorMetrics.MeterName
                && instrument.Name is "orchestrator.dispatch.latency" or "orchestrator.stage.transitions")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, seconds, _, _) =>
        {
            lock (_lock)
            {
                _dispatchSeconds.Add(seconds);
            }
        });
        _listener.SetMeasurementEventCallback<long>((_, count, _, _) => Interlocked.Add(ref _transitions, count));
        _listener.Start();
    }

    public long Transitions => Interlocked.Read(ref _transitions);

    /// <summary>The given percentile of dispatch latency in milliseconds (nearest rank).</summary>
    public double DispatchPercentileMs(double percentile)
    {
        lock (_lock)
        {
            if (_dispatchSeconds.Count == 0)
            {
                return double.NaN;
            }

            var sorted = _dispatchSeconds.Order().ToList();
            var rank = (int)Math.Ceiling(percentile / 100 * sorted.Count) - 1;
            return sorted[Math.Clamp(rank, 0, sorted.Count - 1)] * 1000;
        }
    }

    public int DispatchCount
    {
        get
        {
            lock (_lock)
            {
                return _dispatchSeconds.Count;
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
