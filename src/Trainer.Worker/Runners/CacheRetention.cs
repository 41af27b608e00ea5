using Orchestrator.Artifacts;
using Orchestrator.Contracts.Messages;

namespace Trainer.Worker.Runners;

/// <summary>
/// How much of the runs' caches the artifact store keeps: none older than <paramref name="MaxAge"/>, then the newest
/// that fit in <paramref name="MaxBytes"/> together. Age is counted from the commit: a cache read often but computed
/// long ago is deleted like one never read (the store records no reads).
/// </summary>
public sealed record CacheRetention(TimeSpan MaxAge, long MaxBytes)
{
    public static CacheRetention Unbounded { get; } = new(TimeSpan.MaxValue, long.MaxValue);

    /// <summary>The caches of <paramref name="caches"/> to delete at <paramref name="now"/>; <paramref name="keep"/>, the one just kept, never is.</summary>
    public IReadOnlyList<ArtifactManifest> Expired(IReadOnlyList<ArtifactManifest> caches, ArtifactReference keep, DateTimeOffset now)
    {
        var expired = new List<ArtifactManifest>();
        long bytes = 0;
        foreach (var cache in caches.OrderByDescending(cache => cache.CommittedAt))
        {
            var size = cache.Files.Sum(file => file.Size);
            if (cache.Reference.Uri == keep.Uri)
            {
                bytes += size;
            }
            else if (now - cache.CommittedAt > MaxAge || bytes + size > MaxBytes)
            {
                expired.Add(cache);
            }
            else
            {
                bytes += size;
            }
        }

        return expired;
    }
}
