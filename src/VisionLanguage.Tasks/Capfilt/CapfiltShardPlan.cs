namespace VisionLanguage.Tasks.Capfilt;

/// <summary>How a <c>blip.capfilt</c> run cuts the web images into shards and draws captions; shard s holds images [s·size, (s+1)·size).</summary>
public sealed record CapfiltShardPlan(int Images, int ShardSize, int CaptionsPerImage, int Seed, double TopP, double RepetitionPenalty, int MinLength, int MaxLength)
{
    public int ShardCount => (Images + ShardSize - 1) / ShardSize;

    /// <summary>The image ids of shard <paramref name="shard"/>.</summary>
    public IReadOnlyList<int> ImagesOf(int shard) =>
        [.. Enumerable.Range(shard * ShardSize, Math.Min(ShardSize, Images - (shard * ShardSize)))];
}
