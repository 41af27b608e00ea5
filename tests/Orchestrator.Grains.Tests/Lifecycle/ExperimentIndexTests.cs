using Orleans.Core.Internal;
using Orchestrator.Grains.Experiments;

namespace Orchestrator.Grains.Tests.Lifecycle;

[Collection(ClusterCollection.Name)]
public sealed class ExperimentIndexTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_burst_of_upserts_is_listed_at_once_and_all_of_it_is_in_storage_when_the_index_is_read_again()
    {
        var index = fixture.Grains.GetGrain<IExperimentIndexGrain>(ExperimentIndexGrain.Key);
        var prefix = $"index-{Guid.NewGuid():N}"[..16];
        var created = Enumerable.Range(0, 200)
            .Select(number => new ExperimentSummary { Id = $"{prefix}-{number:D3}", Name = "burst", Status = ExperimentStatus.Running, CreatedAt = ClusterFixture.Time.GetUtcNow(), Stages = 1 })
            .ToList();
        var ended = created.Where((_, number) => number % 2 == 0)
            .Select(summary => summary with { Status = ExperimentStatus.Succeeded, EndedAt = ClusterFixture.Time.GetUtcNow() })
            .ToList();

        // Each burst all at once: the calls share a write or two, and each returns once its summary is stored.
        await Task.WhenAll(created.Select(index.UpsertAsync));
        await WaitForAsync(index, prefix, created);
        await Task.WhenAll(ended.Select(index.UpsertAsync));
        var expected = created.Select(summary => ended.SingleOrDefault(end => end.Id == summary.Id) ?? summary).OrderBy(summary => summary.Id, StringComparer.Ordinal).ToList();
        await WaitForAsync(index, prefix, expected);

        // A new activation reads the state back: every upsert of the burst was written.
        await index.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        Assert.Equal(expected, await ListedAsync(index, prefix));
    }

    private static async Task<List<ExperimentSummary>> ListedAsync(IExperimentIndexGrain index, string prefix) =>
        [.. (await index.ListAsync(status: null, 0, int.MaxValue)).Items.Where(summary => summary.Id.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(summary => summary.Id, StringComparer.Ordinal)];

    private static async Task WaitForAsync(IExperimentIndexGrain index, string prefix, List<ExperimentSummary> expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!expected.SequenceEqual(await ListedAsync(index, prefix)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the burst of upserts is not all listed after 15 s");
            await Task.Delay(10);
        }
    }
}
