using Orleans.Storage;

namespace Orchestrator.Grains.Tests.Lifecycle;

/// <summary>
/// The grain storage of the test cluster, with faults a test switches on for the grains whose id contains its label: every
/// write fails (as one to an unreachable storage account does once its tries are spent), or waits until the test lets it
/// fail. It also records every write stored.
/// </summary>
public sealed class StorageFaults
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, TaskCompletionSource?> _failing = [];
    private readonly List<(string State, GrainId Grain)> _writes = [];
    private readonly List<string> _held = [];

    /// <summary>Every write stored so far, in order: the state's name and the grain's id.</summary>
    public List<(string State, GrainId Grain)> Writes()
    {
        lock (_lock)
        {
            return [.. _writes];
        }
    }

    /// <summary>Writes of grains whose id contains <paramref name="label"/> fail; with <paramref name="held"/>, they first wait for <see cref="Release"/>.</summary>
    public void FailWrites(string label, bool held = false)
    {
        lock (_lock)
        {
            _failing[label] = held ? new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) : null;
        }
    }

    /// <summary>Writes of grains whose id contains <paramref name="label"/> that wait for <see cref="Release"/> now.</summary>
    public int Held(string label)
    {
        lock (_lock)
        {
            return _held.Count(id => id.Contains(label, StringComparison.Ordinal));
        }
    }

    /// <summary>Lets the held writes of <paramref name="label"/> fail; later ones fail at once.</summary>
    public void Release(string label)
    {
        lock (_lock)
        {
            if (_failing.TryGetValue(label, out var held))
            {
                held?.TrySetResult();
                _failing[label] = null;
            }
        }
    }

    /// <summary>Storage answers again for <paramref name="label"/>.</summary>
    public void Heal(string label)
    {
        Release(label);
        lock (_lock)
        {
            _failing.Remove(label);
        }
    }

    public IGrainStorage Wrap(IGrainStorage storage) => new FaultyStorage(storage, this);

    private async Task BeforeWriteAsync(GrainId grainId)
    {
        Task? wait;
        lock (_lock)
        {
            var id = grainId.ToString();
            var fault = _failing.FirstOrDefault(entry => id.Contains(entry.Key, StringComparison.Ordinal));
            if (fault.Key is null)
            {
                return;
            }

            wait = fault.Value?.Task;
        }

        if (wait is not null)
        {
            var id = grainId.ToString();
            lock (_lock)
            {
                _held.Add(id);
            }

            try
            {
                await wait;
            }
            finally
            {
                lock (_lock)
                {
                    _held.Remove(id);
                }
            }
        }

        throw new IOException($"storage unreachable (a fault injected for {grainId})");
    }

    private sealed class FaultyStorage(IGrainStorage inner, StorageFaults faults) : IGrainStorage
    {
        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

        public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            await faults.BeforeWriteAsync(grainId);
            await inner.WriteStateAsync(stateName, grainId, grainState);
            lock (faults._lock)
            {
                faults._writes.Add((stateName, grainId));
            }
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
    }
}
