using System.Diagnostics;
using System.Runtime.InteropServices;

namespace VisionLanguage.Training.Distributed.Gloo;

/// <summary>
/// Gloo's rendezvous store during one join, served by an <see cref="IRendezvousStore"/>: the shim calls
/// <see cref="Set"/> and <see cref="Get"/> synchronously on the joining thread. Nothing thrown here crosses into native
/// code: the first failure is kept in <see cref="Failure"/> and the shim is told the store failed.
/// </summary>
internal sealed class GlooStoreBridge
{
    private readonly GlooNative _native;
    private readonly IRendezvousStore _store;
    private readonly string _keyPrefix;
    private readonly TimeSpan _joinTimeout;
    private readonly Stopwatch _elapsed = Stopwatch.StartNew();
    private readonly CancellationToken _cancellationToken;

    public GlooStoreBridge(GlooNative native, IRendezvousStore store, string keyPrefix, TimeSpan joinTimeout, CancellationToken cancellationToken)
    {
        _native = native;
        _store = store;
        _keyPrefix = keyPrefix;
        _joinTimeout = joinTimeout;
        _cancellationToken = cancellationToken;
        // The delegates live as long as this bridge, which the join keeps alive until the shim returns.
        SetCallback = Set;
        GetCallback = Get;
    }

    public GlooNative.StoreSetCallback SetCallback { get; }

    public GlooNative.StoreGetCallback GetCallback { get; }

    /// <summary>What the store threw first (a <see cref="TimeoutException"/> naming the key, a cancellation, ...), if anything.</summary>
    public Exception? Failure { get; private set; }

    private int Set(nint state, nint key, nint value, nuint length)
    {
        try
        {
            var bytes = new byte[checked((int)length)];
            if (bytes.Length > 0)
            {
                // An empty value may come with a null pointer (a world of one rank publishes no addresses).
                Marshal.Copy(value, bytes, 0, bytes.Length);
            }

            _store.SetAsync(FullKey(key), bytes, _cancellationToken).GetAwaiter().GetResult();
            return 0;
        }
        catch (Exception exception)
        {
            Failure ??= exception;
            return 1;
        }
    }

    private int Get(nint state, nint key, long timeoutMilliseconds, nint sink)
    {
        try
        {
            var fullKey = FullKey(key);
            // Gloo gives each wait its own timeout; the join as a whole ends at JoinTimeout.
            var left = _joinTimeout - _elapsed.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"rendezvous key '{fullKey}' was not read: the join timeout of {_joinTimeout.TotalSeconds:0.#} s had passed");
            }

            var timeout = TimeSpan.FromMilliseconds(Math.Min(timeoutMilliseconds, left.TotalMilliseconds));
            var value = _store.GetAsync(fullKey, timeout, _cancellationToken).GetAwaiter().GetResult();
            _native.SinkPut(sink, value, (nuint)value.Length);
            return 0;
        }
        catch (Exception exception)
        {
            Failure ??= exception;
            return 1;
        }
    }

    private string FullKey(nint key) => _keyPrefix + Marshal.PtrToStringUTF8(key);
}
