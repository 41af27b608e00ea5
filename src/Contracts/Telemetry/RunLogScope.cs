using System.Collections;

namespace Orchestrator.Contracts.Telemetry;

/// <summary>
/// The state of a log scope about a run (or a whole experiment): its ids as properties, which structured log
/// formats write as fields, and a short text for formats that print a scope as one string.
/// </summary>
public sealed class RunLogScope : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly KeyValuePair<string, object?>[] _properties;
    private readonly string _text;

    internal RunLogScope(KeyValuePair<string, object?>[] properties, string text)
    {
        _properties = properties;
        _text = text;
    }

    public int Count => _properties.Length;

    public KeyValuePair<string, object?> this[int index] => _properties[index];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_properties).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => _text;
}
