namespace VisionLanguage.Training.Distributed;

/// <summary>
/// The small key-value store through which the ranks of one gang generation find each other (torch's c10d
/// <c>Store</c>): rank 0 publishes what the others need (NCCL's unique id, Gloo's addresses) and every rank waits for
/// it. A store belongs to one generation of one run, so keys never cross generations. Keys are set once; setting a key
/// again with another value is an error.
/// </summary>
public interface IRendezvousStore
{
    /// <summary>Publishes <paramref name="value"/> under <paramref name="key"/>.</summary>
    Task SetAsync(string key, byte[] value, CancellationToken cancellationToken);

    /// <summary>
    /// The value under <paramref name="key"/>, waiting until some rank has set it; throws <see cref="TimeoutException"/>
    /// naming the key when <paramref name="timeout"/> passes first.
    /// </summary>
    Task<byte[]> GetAsync(string key, TimeSpan timeout, CancellationToken cancellationToken);
}
