using Microsoft.Extensions.Logging;

namespace Orchestrator.Grains.Stages;

/// <summary>
/// The rendezvous store of the stage's current run: the few small values a gang's ranks exchange to connect (NCCL's
/// unique id, Gloo's addresses). It lives in memory only, for the current run id: a new attempt (the gang's next
/// generation) starts empty, and a request from any other run is answered stale, so no key crosses generations. Each
/// request keeps the stage in memory for <see cref="RendezvousHeldFor"/>, so idle collection does not drop it; a silo
/// that restarts mid-rendezvous loses it; the ranks' join times out and the gang is retried as its next generation.
/// </summary>
public sealed partial class StageGrain
{
    /// <summary>Keys one run may set: a Gloo gang sets a few per rank.</summary>
    public const int RendezvousMaxKeys = 1024;

    /// <summary>The largest value: NCCL's id is 128 bytes, a Gloo address a few dozen.</summary>
    public const int RendezvousMaxValueBytes = 64 * 1024;

    /// <summary>The longest key: the backends' keys are a prefix and a rank or a name.</summary>
    public const int RendezvousMaxKeyLength = 256;

    /// <summary>
    /// How long the stage stays in memory after a rendezvous request, whatever the idle collection age: the store lives
    /// only here, and a rank may join up to its join timeout (<c>Worker:Gang:JoinTimeout</c>, 5 minutes by default) after
    /// the last request.
    /// </summary>
    public static readonly TimeSpan RendezvousHeldFor = TimeSpan.FromMinutes(10);

    private string? _rendezvousRunId;
    private readonly Dictionary<string, byte[]> _rendezvous = new(StringComparer.Ordinal);

    public Task<RendezvousResult> RendezvousSetAsync(string runId, string key, byte[] value)
    {
        if (StoreOf(runId) is not { } store)
        {
            return Task.FromResult(RendezvousResult.Stale(runId));
        }

        if (key.Length is 0 or > RendezvousMaxKeyLength)
        {
            return Task.FromResult(RendezvousResult.Refused(
                $"rendezvous key of {key.Length} characters; a key has 1 to {RendezvousMaxKeyLength} characters, e.g. 'nccl/unique-id'"));
        }

        if (value.Length > RendezvousMaxValueBytes)
        {
            return Task.FromResult(RendezvousResult.Refused(
                $"rendezvous value of key '{key}' has {value.Length} bytes, more than the {RendezvousMaxValueBytes} a run may set; rendezvous values are addresses and ids"));
        }

        if (store.TryGetValue(key, out var existing))
        {
            return Task.FromResult(existing.AsSpan().SequenceEqual(value)
                ? RendezvousResult.Ok()
                : RendezvousResult.Refused($"rendezvous key '{key}' of run {runId} is already set to another value; each key is set once per generation"));
        }

        if (store.Count >= RendezvousMaxKeys)
        {
            return Task.FromResult(RendezvousResult.Refused(
                $"run {runId} has set {store.Count} rendezvous keys, the most a run may; a gang needs a few per rank"));
        }

        store[key] = [.. value];
        return Task.FromResult(RendezvousResult.Ok());
    }

    public Task<RendezvousResult> RendezvousGetAsync(string runId, string key)
    {
        if (StoreOf(runId) is not { } store)
        {
            return Task.FromResult(RendezvousResult.Stale(runId));
        }

        return Task.FromResult(store.TryGetValue(key, out var value) ? RendezvousResult.Found(value) : RendezvousResult.Missing());
    }

    /// <summary>The store of <paramref name="runId"/> when it is the current run, emptied when the current run changed.</summary>
    private Dictionary<string, byte[]>? StoreOf(string runId)
    {
        if (Stage.CurrentRunId != runId)
        {
            logger.LogInformation("Rendezvous request of run {RunId} refused: the stage's current run is {CurrentRunId}", runId, Stage.CurrentRunId ?? "none");
            return null;
        }

        if (_rendezvousRunId != runId)
        {
            _rendezvous.Clear();
            _rendezvousRunId = runId;
        }

        DelayDeactivation(RendezvousHeldFor);
        return _rendezvous;
    }
}

/// <summary>What a rendezvous request got.</summary>
[GenerateSerializer, Immutable, Alias("RendezvousResult")]
public sealed record RendezvousResult
{
    [Id(0)] public required RendezvousOutcome Outcome { get; init; }
    [Id(1)] public byte[]? Value { get; init; }
    [Id(2)] public string? Error { get; init; }

    public static RendezvousResult Ok() => new() { Outcome = RendezvousOutcome.Ok };

    public static RendezvousResult Found(byte[] value) => new() { Outcome = RendezvousOutcome.Ok, Value = [.. value] };

    public static RendezvousResult Missing() => new() { Outcome = RendezvousOutcome.Missing };

    public static RendezvousResult Stale(string runId) => new()
    {
        Outcome = RendezvousOutcome.Stale,
        Error = $"run {runId} is not the stage's current run: its generation is over",
    };

    public static RendezvousResult Refused(string error) => new() { Outcome = RendezvousOutcome.Refused, Error = error };
}

/// <summary>Set or found; not set yet; from a run that is no longer current; not acceptable.</summary>
[GenerateSerializer, Alias("RendezvousOutcome")]
public enum RendezvousOutcome
{
    Ok,
    Missing,
    Stale,
    Refused,
}
