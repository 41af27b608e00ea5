namespace VisionLanguage.Data;

/// <summary>
/// A small, fast random source (SplitMix64) whose sequence is fixed by this code alone, not by the runtime's
/// <see cref="Random"/>, so a seed gives the same datasets, shuffles and crops on every machine and .NET version.
/// Streams are derived from a seed and a path of integers (say seed, epoch, sample index), so any sample's
/// randomness can be recreated without replaying the ones before it, and work can be spread over threads.
/// </summary>
public sealed class DataRandom
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL;
    private ulong _state;

    public DataRandom(ulong seed)
    {
        _state = seed;
    }

    /// <summary>The stream for <paramref name="seed"/> and the path <paramref name="streams"/>, e.g. (seed, epoch, index).</summary>
    public static DataRandom For(long seed, params ReadOnlySpan<long> streams)
    {
        var state = Mix((ulong)seed + Golden);
        foreach (var stream in streams)
        {
            state = Mix(state ^ Mix((ulong)stream + Golden));
        }

        return new DataRandom(state);
    }

    public ulong NextUInt64()
    {
        _state += Golden;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, 1), with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [<paramref name="min"/>, <paramref name="max"/>).</summary>
    public double NextDouble(double min, double max) => min + (NextDouble() * (max - min));

    /// <summary>Uniform in [0, <paramref name="maxExclusive"/>), without modulo bias.</summary>
    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        var bound = (ulong)maxExclusive;
        var threshold = (0UL - bound) % bound;
        while (true)
        {
            var value = NextUInt64();
            if (value >= threshold)
            {
                return (int)(value % bound);
            }
        }
    }

    /// <summary>Uniform in [<paramref name="min"/>, <paramref name="maxExclusive"/>).</summary>
    public int Next(int min, int maxExclusive) => min + Next(maxExclusive - min);

    public bool NextBool(double probability = 0.5) => NextDouble() < probability;

    /// <summary>One of <paramref name="items"/>, uniformly.</summary>
    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
