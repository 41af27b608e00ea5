using System.Diagnostics.Metrics;
using Orchestrator.Silo.Hosting;

namespace Orchestrator.Bench;

/// <summary>
/// Counts the requests the silo sends to Azure Storage (<see cref="StorageRequestMetrics"/>, every try), each by what
/// caused it: the benchmark marks each of its calls with its cause in Orleans' request context (<see cref="Mark"/>),
/// which travels with the grain call and every call and write it leads to, so a progress report's stage write counts for
/// the report, and a completion's stage, experiment, index and reminder requests for the completion. Requests no call
/// caused (membership's I-am-alive, the reminder table's reads) count as <c>background</c>.
/// </summary>
internal sealed class StorageRequestRecorder : IDisposable
{
    public const string CauseKey = "bench.cause";
    public const string Create = "create";
    public const string Started = "started";
    public const string Progress = "progress";
    public const string Checkpoint = "checkpoint";
    public const string Completed = "completed";
    public const string Background = "background";

    private readonly MeterListener _listener = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _byCause = [];
    private readonly Dictionary<string, long> _byState = [];
    private long _errors;

    public StorageRequestRecorder()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == StorageRequestMetrics.InstrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, count, tags, _) =>
        {
            var cause = RequestContext.Get(CauseKey) as string ?? Background;
            string? service = null, state = null, outcome = null;
            foreach (var tag in tags)
            {
                switch (tag.Key)
                {
                    case "service": service = tag.Value as string; break;
                    case "state": state = tag.Value as string; break;
                    case "outcome": outcome = tag.Value as string; break;
                }
            }

            lock (_lock)
            {
                _byCause[cause] = _byCause.GetValueOrDefault(cause) + count;
                var subject = $"{service}/{state}";
                _byState[subject] = _byState.GetValueOrDefault(subject) + count;
                _errors += outcome == "error" ? count : 0;
            }
        });
        _listener.Start();
    }

    /// <summary>Marks the calls made from here on in this flow as caused by <paramref name="cause"/>.</summary>
    public static void Mark(string cause) => RequestContext.Set(CauseKey, cause);

    public long Caused(string cause)
    {
        lock (_lock)
        {
            return _byCause.GetValueOrDefault(cause);
        }
    }

    public Dictionary<string, long> ByCause()
    {
        lock (_lock)
        {
            return new(_byCause);
        }
    }

    public Dictionary<string, long> ByState()
    {
        lock (_lock)
        {
            return new(_byState);
        }
    }

    public long Total
    {
        get
        {
            lock (_lock)
            {
                return _byCause.Values.Sum();
            }
        }
    }

    public long Errors
    {
        get
        {
            lock (_lock)
            {
                return _errors;
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
