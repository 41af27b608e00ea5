using System.Diagnostics.Metrics;

namespace Trainer.Worker.Tests.Observability;

/// <summary>Listens to one meter's instruments: everything recorded, and the observable instruments on demand.</summary>
internal sealed class MeterRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Lock _lock = new();
    private readonly List<Recorded> _recorded = [];

    public MeterRecorder(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>The observable instruments' current values, as a scrape would read them.</summary>
    public IReadOnlyList<Recorded> Observe(string instrument)
    {
        lock (_lock)
        {
            _recorded.RemoveAll(recorded => recorded.Instrument == instrument);
        }

        _listener.RecordObservableInstruments();
        return Recorded(instrument);
    }

    public IReadOnlyList<Recorded> Recorded(string instrument)
    {
        lock (_lock)
        {
            return [.. _recorded.Where(recorded => recorded.Instrument == instrument)];
        }
    }

    public void Dispose() => _listener.Dispose();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, tag) in tags)
        {
            labels[key] = $"{tag}";
        }

        lock (_lock)
        {
            _recorded.Add(new Recorded(instrument.Name, value, string.Join(",", labels.Select(label => $"{label.Key}={label.Value}"))));
        }
    }
}

/// <summary>One measurement; its tags as <c>key=value</c> pairs in key order, joined by commas.</summary>
internal sealed record Recorded(string Instrument, double Value, string Tags);
