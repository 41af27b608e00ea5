using System.Collections.Concurrent;

namespace VisionLanguage.Training.Distributed;

/// <summary>A rendezvous store for ranks that share a process (threads of one bench or test).</summary>
public sealed class InMemoryRendezvousStore : IRendezvousStore
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<byte[]>> _values = new(StringComparer.Ordinal);

    public Task SetAsync(string key, byte[] value, CancellationToken cancellationToken)
    {
        var entry = Entry(key);
        if (!entry.TrySetResult([.. value]) && !entry.Task.Result.AsSpan().SequenceEqual(value))
        {
            throw new InvalidOperationException($"rendezvous key '{key}' is already set to another value");
        }

        return Task.CompletedTask;
    }

    public async Task<byte[]> GetAsync(string key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return [.. await Entry(key).Task.WaitAsync(timeout, cancellationToken)];
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"rendezvous key '{key}' was not set within {timeout.TotalSeconds:0.#} s");
        }
    }

    private TaskCompletionSource<byte[]> Entry(string key) =>
        _values.GetOrAdd(key, _ => new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously));
}
