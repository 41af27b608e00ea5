using System.Collections.Concurrent;
using System.Globalization;
using Orleans.Serialization;
using Orleans.Storage;

namespace Orchestrator.Grains;

/// <summary>
/// Grain storage held in this process, for a single silo (standalone mode, tests, benchmarks): each state is kept
/// as its Orleans-serialized bytes, so a grain never shares objects with what it stored, and writes are checked
/// against the ETag the grain read, as a real store checks them. Orleans' own memory storage keeps the bytes in
/// storage grains so that several silos can share them, which makes every write a grain call waiting its turn
/// behind the grains' own work; a single silo does not need that, and a cluster uses Azure Storage.
/// </summary>
public sealed class InProcessGrainStorage(Serializer serializer) : IGrainStorage
{
    private readonly ConcurrentDictionary<(string StateName, GrainId GrainId), Stored> _states = new();
    private long _nextETag;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_states.TryGetValue((stateName, grainId), out var stored))
        {
            grainState.State = serializer.Deserialize<T>(stored.Bytes);
            grainState.ETag = stored.ETag;
            grainState.RecordExists = true;
        }

        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var etag = NextETag();
        var bytes = serializer.SerializeToArray(grainState.State);
        Replace(stateName, grainId, grainState.ETag, new Stored(bytes, etag));
        grainState.ETag = etag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        Replace(stateName, grainId, grainState.ETag, replacement: null);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    /// <summary>Swaps the stored state for <paramref name="replacement"/> (or removes it) if it is still the one with <paramref name="expectedETag"/>.</summary>
    private void Replace(string stateName, GrainId grainId, string? expectedETag, Stored? replacement)
    {
        var key = (stateName, grainId);
        while (true)
        {
            var found = _states.TryGetValue(key, out var current);
            if (found ? current!.ETag != expectedETag : expectedETag is not null)
            {
                throw new InconsistentStateException(
                    $"The {stateName} state of {grainId} changed since it was read (stored ETag {current?.ETag ?? "none"}, expected {expectedETag ?? "none"}).",
                    current?.ETag ?? "none", expectedETag ?? "none");
            }

            var swapped = (found, replacement) switch
            {
                (false, null) => true,
                (false, not null) => _states.TryAdd(key, replacement),
                (true, null) => _states.TryRemove(new KeyValuePair<(string, GrainId), Stored>(key, current!)),
                (true, not null) => _states.TryUpdate(key, replacement, current!),
            };
            if (swapped)
            {
                return;
            }
        }
    }

    private string NextETag() => Interlocked.Increment(ref _nextETag).ToString(CultureInfo.InvariantCulture);

    private sealed record Stored(byte[] Bytes, string ETag);
}
