using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Testing;

/// <summary>Keeps every log line of a host with its level, message template and the properties of the scopes around it (shared by the test projects that check log lines).</summary>
public sealed class LogCapture : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<CapturedLine> _lines = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyList<CapturedLine> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => capture._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scope = new Dictionary<string, object?>();
            capture._scopes.ForEachScope(
                (value, values) =>
                {
                    if (value is IEnumerable<KeyValuePair<string, object?>> pairs)
                    {
                        foreach (var (key, item) in pairs)
                        {
                            values[key] = item;
                        }
                    }
                },
                scope);
            var template = state is IEnumerable<KeyValuePair<string, object?>> values
                ? values.FirstOrDefault(pair => pair.Key == "{OriginalFormat}").Value as string
                : null;
            capture._lines.Enqueue(new CapturedLine(DateTimeOffset.UtcNow, logLevel, category, template ?? "", formatter(state, exception), scope));
        }
    }
}

/// <summary>One captured log line.</summary>
public sealed record CapturedLine(
    DateTimeOffset At, LogLevel Level, string Category, string Template, string Message, IReadOnlyDictionary<string, object?> Scope)
{
    public string? Get(string property) => Scope.TryGetValue(property, out var value) ? value as string : null;
}
