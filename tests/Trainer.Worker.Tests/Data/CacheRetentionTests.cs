using Orchestrator.Contracts.Catalog.Options;
using Trainer.Worker.Runners;
using VisionLanguage.Testing;

namespace Trainer.Worker.Tests.Data;

/// <summary>Runs' caches in the artifact store: kept under their key, found again, and bounded by age and size.</summary>
public sealed class CacheRetentionTests : IDisposable
{
    private readonly DataTestFolder _folder = new();

    [Fact]
    public async Task Keeping_a_cache_deletes_those_over_the_age_then_the_oldest_over_the_size_but_never_the_new_one()
    {
        // Each cache below is one file of 1,000 bytes: room for two.
        var run = DataRunContext.Create("dataset.synthetic", new SyntheticDatasetOptions(), _folder.Root, new CacheRetention(TimeSpan.FromDays(30), 2_000));

        await KeepAsync(run, "a");
        run.Time.Advance(TimeSpan.FromDays(1));
        await KeepAsync(run, "b");
        Assert.Equal(["a", "b"], await KeptAsync(run));
        run.Time.Advance(TimeSpan.FromDays(1));
        await KeepAsync(run, "c");
        Assert.Equal(["b", "c"], await KeptAsync(run));
        Assert.Null(await run.Context.FindCacheAsync("test", "a", CancellationToken.None));
        Assert.NotNull(await run.Context.FindCacheAsync("test", "b", CancellationToken.None));

        run.Time.Advance(TimeSpan.FromDays(30) + TimeSpan.FromSeconds(1));
        await KeepAsync(run, "d", bytes: 5_000);

        // b and c are past 30 days; d alone is over the size, and kept because it is the new one.
        Assert.Equal(["d"], await KeptAsync(run));
    }

    public void Dispose() => _folder.Dispose();

    private async Task KeepAsync(DataRunContext run, string key, int bytes = 1_000)
    {
        var directory = _folder.PathOf($"cache-{key}");
        Directory.CreateDirectory(directory);
        await File.WriteAllBytesAsync(Path.Combine(directory, "features.bin"), new byte[bytes]);
        await run.Context.KeepCacheAsync("test", key, directory, new Dictionary<string, double>(), CancellationToken.None);
    }

    private static async Task<List<string>> KeptAsync(DataRunContext run) =>
        [.. (await run.Store.ListExperimentAsync("caches")).Select(manifest => manifest.Draft.StageId["test-".Length..])];
}
