using Microsoft.Extensions.DependencyInjection;
using Orleans.Core.Internal;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Experiments.Index;
using Orchestrator.Grains.Specs;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Tests.Lifecycle;

/// <summary>
/// The partitioned experiment index in the test cluster. Each test gives its summaries a label of its own and creation times
/// of its own (years ahead of the fake clock), so other tests' experiments never land in its partitions or its listings.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ExperimentIndexTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Grains;

    [Fact]
    public async Task A_burst_of_upserts_is_listed_at_once_and_all_of_it_is_in_storage_when_the_index_is_read_again()
    {
        var prefix = $"index-{Guid.NewGuid():N}"[..16];
        var at = new DateTimeOffset(2090, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var created = Enumerable.Range(0, 200)
            .Select(number => Summary($"{prefix}-{number:D3}", at, ExperimentStatus.Running, prefix))
            .ToList();
        var ended = created.Where((_, number) => number % 2 == 0)
            .Select(summary => summary with { Status = ExperimentStatus.Succeeded, EndedAt = at.AddMinutes(5) })
            .ToList();

        // Each burst all at once: the calls share a write or two, and each returns once its summary is stored.
        await Task.WhenAll(created.Select(summary => ExperimentIndex.UpsertAsync(Grains, summary)));
        await WaitForAsync(prefix, created);
        await Task.WhenAll(ended.Select(summary => ExperimentIndex.UpsertAsync(Grains, summary)));
        var expected = created.Select(summary => ended.SingleOrDefault(end => end.Id == summary.Id) ?? summary).OrderBy(summary => summary.Id, StringComparer.Ordinal).ToList();
        await WaitForAsync(prefix, expected);

        // A new activation reads the state back: every upsert of the burst was written.
        await Partition(at).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        Assert.Equal(expected, await ListedAsync(prefix));
    }

    [Fact]
    public async Task A_creation_leaves_the_gate_before_its_summary_is_stored_so_the_next_one_never_waits_on_the_index()
    {
        // The gate lets one creation in at a time. Both summaries go to the partition of the fake clock's minute, whose
        // writes are held: the second creation must still get through the gate and initialise its stage.
        var partition = Grains.GetGrain<IExperimentIndexPartitionGrain>(ExperimentIndexBuckets.Of(ClusterFixture.Time.GetUtcNow())).GetGrainId().ToString();
        ClusterFixture.Storage.FailWrites(partition, held: true);
        var (first, second) = (new LifecycleDriver(fixture), new LifecycleDriver(fixture));
        var firstCreation = CreateAsync(first);
        var secondCreation = CreateAsync(second);
        try
        {
            await WaitForStatusAsync(second, StageStatus.Pending);
            await WaitForStatusAsync(first, StageStatus.Pending);
            await WaitForAsync(() => ClusterFixture.Storage.Held(partition) > 0, "the partition's write was never held");
            Assert.False(firstCreation.IsCompleted || secondCreation.IsCompleted, "a creation is acknowledged only once its summary is stored");
        }
        finally
        {
            ClusterFixture.Storage.Heal(partition);
        }

        // The held write failed, and with it the upserts it held (those that came after it are stored by the next): a
        // caller that heard of the failure retries with the same draft, which indexes the summary.
        await Task.WhenAll(firstCreation, secondCreation).ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.True(firstCreation.IsFaulted || secondCreation.IsFaulted, "the held write failed the upserts it held");
        Assert.Equal(CreateOutcome.AlreadyExisted, (await CreateAsync(first)).Outcome);
        Assert.Equal(CreateOutcome.AlreadyExisted, (await CreateAsync(second)).Outcome);
        await WaitForStatusAsync(first, StageStatus.Queued);
        await WaitForStatusAsync(second, StageStatus.Queued);
        var listed = await ExperimentIndex.ListAllAsync(Grains, new ExperimentQuery { Status = ExperimentStatus.Running });
        Assert.Contains(listed, summary => summary.Id == $"exp-{first.Label}");
        Assert.Contains(listed, summary => summary.Id == $"exp-{second.Label}");
    }

    private static Task<CreateResult> CreateAsync(LifecycleDriver driver)
    {
        var id = $"exp-{driver.Label}";
        var prepared = ExperimentDrafts.Prepare($"name: gate\nstages:\n  - {{ id: a, kind: dataset.synthetic, resources: {{ labels: {{ test: \"{driver.Label}\" }} }} }}", SpecFormat.Yaml, id);
        return driver.Experiment(id).CreateAsync(prepared.Draft!);
    }

    private static async Task WaitForStatusAsync(LifecycleDriver driver, StageStatus status)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (await StatusAsync(driver.Stage($"exp-{driver.Label}", "a")) != status)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the stage of exp-{driver.Label} was never {status}");
            await Task.Delay(10);
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(10);
        }
    }

    /// <summary>The stage's status; null while its experiment has not initialised it.</summary>
    private static async Task<StageStatus?> StatusAsync(IStageGrain stage)
    {
        try
        {
            return (await stage.GetAsync()).Status;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    [Fact]
    public async Task A_summary_goes_to_the_partition_of_its_creation_minute_and_no_other()
    {
        var label = Label();
        var at = new DateTimeOffset(2090, 2, 1, 10, 30, 59, 999, TimeSpan.Zero);
        var summary = Summary($"{label}-a", at, ExperimentStatus.Running, label);

        await ExperimentIndex.UpsertAsync(Grains, summary);

        var query = new ExperimentQuery { LabelName = "test", LabelValue = label };
        Assert.Equal([summary], (await Partition(at).ListAsync(query, null, 0, 10)).Items);
        Assert.Empty((await Partition(at.AddMinutes(1)).ListAsync(query, null, 0, 10)).Items);
        Assert.Empty((await Partition(at.AddMinutes(-1)).ListAsync(query, null, 0, 10)).Items);
        var wrong = await Assert.ThrowsAsync<ArgumentException>(() => Partition(at.AddMinutes(1)).UpsertAsync(summary));
        Assert.Contains($"not in partition {ExperimentIndexBuckets.Of(at) + 1}", wrong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Listing_is_newest_first_across_partitions_and_days_and_a_cursor_walks_it_in_pages()
    {
        var label = Label();
        var midnight = new DateTimeOffset(2090, 3, 2, 0, 0, 0, TimeSpan.Zero);
        // Two days, four partitions; two experiments share a creation time (then the id decides), one partition holds two.
        var summaries = new[]
        {
            Summary($"{label}-a", midnight.AddSeconds(-90), ExperimentStatus.Succeeded, label),
            Summary($"{label}-b", midnight.AddSeconds(-30), ExperimentStatus.Failed, label),
            Summary($"{label}-c", midnight.AddSeconds(-1), ExperimentStatus.Running, label),
            Summary($"{label}-d", midnight.AddSeconds(-1), ExperimentStatus.Running, label),
            Summary($"{label}-e", midnight, ExperimentStatus.Running, label),
            Summary($"{label}-f", midnight.AddSeconds(61), ExperimentStatus.Cancelled, label),
        };
        await Task.WhenAll(summaries.Reverse().Select(summary => ExperimentIndex.UpsertAsync(Grains, summary)));
        string[] newestFirst = [$"{label}-f", $"{label}-e", $"{label}-c", $"{label}-d", $"{label}-b", $"{label}-a"];
        var query = Query(label);

        var whole = await ExperimentIndex.ListAsync(Grains, query, null, 0, 50);
        Assert.Equal(newestFirst, whole.Items.Select(summary => summary.Id));
        Assert.Equal((6, 0), (whole.Total, whole.Offset));
        Assert.Null(whole.Next);

        // Pages of two by cursor: each continues where the last ended, across partition and day boundaries.
        var pages = new List<ExperimentListing>();
        ExperimentListPosition? after = null;
        do
        {
            var page = await ExperimentIndex.ListAsync(Grains, query, after, 0, 2);
            pages.Add(page);
            after = page.Next;
        }
        while (after is not null);

        Assert.Equal([[newestFirst[0], newestFirst[1]], [newestFirst[2], newestFirst[3]], [newestFirst[4], newestFirst[5]]], pages.Select(page => page.Items.Select(summary => summary.Id).ToArray()));
        Assert.Equal([0, 2, 4], pages.Select(page => page.Offset));
        Assert.All(pages, page => Assert.Equal(6, page.Total));

        // Offsets give the same pages.
        for (var offset = 0; offset < 6; offset += 2)
        {
            Assert.Equal(pages[offset / 2].Items, (await ExperimentIndex.ListAsync(Grains, query, null, offset, 2)).Items);
        }

        // A page that ends on the last match says there is no next one; an offset past the end is an empty page.
        var last = await ExperimentIndex.ListAsync(Grains, query, null, 5, 1);
        Assert.Equal([newestFirst[5]], last.Items.Select(summary => summary.Id));
        Assert.Null(last.Next);
        Assert.Empty((await ExperimentIndex.ListAsync(Grains, query, null, 6, 10)).Items);
    }

    [Fact]
    public async Task Counts_by_status_are_summed_over_partitions_and_a_status_filter_reads_only_partitions_that_have_it()
    {
        var label = Label();
        var other = Label();
        var start = new DateTimeOffset(2090, 4, 1, 8, 0, 0, TimeSpan.Zero);
        var before = await ExperimentIndex.CountByStatusAsync(Grains);

        // Minute 0: three succeeded; minute 1: one running, one failed (labelled otherwise); minute 2: two failed.
        var summaries = new[]
        {
            Summary($"{label}-0a", start, ExperimentStatus.Succeeded, label),
            Summary($"{label}-0b", start.AddSeconds(10), ExperimentStatus.Succeeded, label),
            Summary($"{label}-0c", start.AddSeconds(20), ExperimentStatus.Succeeded, label),
            Summary($"{label}-1a", start.AddMinutes(1), ExperimentStatus.Running, label),
            Summary($"{label}-1b", start.AddMinutes(1).AddSeconds(5), ExperimentStatus.Failed, other),
            Summary($"{label}-2a", start.AddMinutes(2), ExperimentStatus.Failed, label),
            Summary($"{label}-2b", start.AddMinutes(2).AddSeconds(5), ExperimentStatus.Failed, label),
        };
        await Task.WhenAll(summaries.Select(summary => ExperimentIndex.UpsertAsync(Grains, summary)));

        var after = await ExperimentIndex.CountByStatusAsync(Grains);
        Assert.Equal(3, after.GetValueOrDefault(ExperimentStatus.Succeeded) - before.GetValueOrDefault(ExperimentStatus.Succeeded));
        Assert.Equal(1, after.GetValueOrDefault(ExperimentStatus.Running) - before.GetValueOrDefault(ExperimentStatus.Running));
        Assert.Equal(3, after.GetValueOrDefault(ExperimentStatus.Failed) - before.GetValueOrDefault(ExperimentStatus.Failed));

        var lists = ListCalls(start);
        var running = await ExperimentIndex.ListAsync(Grains, Query(label, ExperimentStatus.Running), null, 0, 50);
        Assert.Equal([$"{label}-1a"], running.Items.Select(summary => summary.Id));
        Assert.Equal(1, running.Total);
        // Only the partition with a running experiment of that label was read.
        Assert.Equal([0, 1, 0], ListCalls(start).Zip(lists, (now, then) => now - then));

        var failed = await ExperimentIndex.ListAsync(Grains, Query(label, ExperimentStatus.Failed), null, 0, 50);
        Assert.Equal([$"{label}-2b", $"{label}-2a"], failed.Items.Select(summary => summary.Id));
        Assert.Equal(2, failed.Total);
        var otherFailed = await ExperimentIndex.ListAsync(Grains, Query(other, ExperimentStatus.Failed), null, 0, 50);
        Assert.Equal([$"{label}-1b"], otherFailed.Items.Select(summary => summary.Id));
        Assert.Equal(1, otherFailed.Total);
        Assert.Equal(6, (await ExperimentIndex.ListAsync(Grains, Query(label), null, 0, 1)).Total);
        Assert.Equal(0, (await ExperimentIndex.ListAsync(Grains, Query(label, ExperimentStatus.Cancelled), null, 0, 1)).Total);

        // A status change moves the counts of its partition.
        await ExperimentIndex.UpsertAsync(Grains, summaries[3] with { Status = ExperimentStatus.Succeeded, EndedAt = start.AddHours(1) });
        Assert.Equal(0, (await ExperimentIndex.ListAsync(Grains, Query(label, ExperimentStatus.Running), null, 0, 1)).Total);
        Assert.Equal(4, (await ExperimentIndex.ListAsync(Grains, Query(label, ExperimentStatus.Succeeded), null, 0, 1)).Total);
        var final = await ExperimentIndex.CountByStatusAsync(Grains);
        Assert.Equal(4, final.GetValueOrDefault(ExperimentStatus.Succeeded) - before.GetValueOrDefault(ExperimentStatus.Succeeded));
        Assert.Equal(0, final.GetValueOrDefault(ExperimentStatus.Running) - before.GetValueOrDefault(ExperimentStatus.Running));
    }

    [Fact]
    public async Task An_experiments_status_change_writes_one_partition_of_the_index_and_nothing_else_of_it()
    {
        var driver = new LifecycleDriver(fixture);
        var id = await driver.SubmitAsync("- { id: data, kind: dataset.synthetic }");
        var created = (await driver.Experiment(id).GetAsync())!;
        var partition = Partition(created.CreatedAt).GetGrainId();
        Assert.Contains(await ExperimentIndex.ListAllAsync(Grains, new ExperimentQuery { Status = ExperimentStatus.Running }), summary => summary.Id == id);

        var writes = ClusterFixture.Storage.Writes().Count;
        await driver.Experiment(id).CancelAsync();
        await driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Cancelled);

        var index = ClusterFixture.Storage.Writes().Skip(writes).Where(write => write.State.StartsWith("experiment-index", StringComparison.Ordinal)).ToList();
        Assert.Equal([(ExperimentIndexPartitionGrain.StateName, partition)], index);
        var summary = Assert.Single(await ExperimentIndex.ListAllAsync(Grains, new ExperimentQuery { Status = ExperimentStatus.Cancelled }), summary => summary.Id == id);
        Assert.Equal(created.Labels, summary.Labels);
    }

    [Fact]
    public async Task Summaries_carry_the_experiments_labels_and_a_listing_filters_by_one()
    {
        var label = Label();
        var at = new DateTimeOffset(2090, 5, 1, 0, 0, 0, TimeSpan.Zero);
        var vision = Summary($"{label}-v", at, ExperimentStatus.Running, label) with { Labels = new() { ["test"] = label, ["team"] = "vision", ["note"] = "a:b=c" } };
        var text = Summary($"{label}-t", at.AddSeconds(1), ExperimentStatus.Running, label) with { Labels = new() { ["test"] = label, ["team"] = "text" } };
        await Task.WhenAll(ExperimentIndex.UpsertAsync(Grains, vision), ExperimentIndex.UpsertAsync(Grains, text));

        var both = await ExperimentIndex.ListAsync(Grains, Query(label), null, 0, 10);
        Assert.Equal([text, vision], both.Items);
        Assert.Equal("vision", both.Items[1].Labels["team"]);

        var teamVision = await ExperimentIndex.ListAsync(Grains, new ExperimentQuery { LabelName = "team", LabelValue = "vision" }, null, 0, 500);
        Assert.Contains(vision, teamVision.Items);
        Assert.DoesNotContain(text, teamVision.Items);
        Assert.Equal([vision], (await ExperimentIndex.ListAsync(Grains, new ExperimentQuery { LabelName = "note", LabelValue = "a:b=c" }, null, 0, 10)).Items);
        Assert.Empty((await ExperimentIndex.ListAsync(Grains, new ExperimentQuery { LabelName = "team", LabelValue = label }, null, 0, 10)).Items);
    }

    [Fact]
    public async Task The_index_of_the_first_layout_moves_into_partitions_and_keeps_no_older_summary_over_a_newer_one()
    {
        var label = Label();
        var at = new DateTimeOffset(2090, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var old = Enumerable.Range(0, 5).Select(number => Summary($"{label}-{number}", at.AddMinutes(number * 7), ExperimentStatus.Running, label) with { Labels = [] }).ToList();
        var newer = old[2] with { Status = ExperimentStatus.Succeeded, Labels = new() { ["test"] = label } };
        await ExperimentIndex.UpsertAsync(Grains, newer);

        var legacy = Grains.GetGrain<ILegacyExperimentIndexGrain>(LegacyExperimentIndexGrain.Key);
        await legacy.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        var storage = fixture.Cluster.Primary is Orleans.TestingHost.InProcessSiloHandle silo
            ? silo.SiloHost.Services.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(OrchestratorStorage.Name)
            : throw new InvalidOperationException("the test cluster runs in process");
        var state = new ExperimentIndexState { Experiments = old.ToDictionary(summary => summary.Id) };
        await storage.WriteStateAsync(LegacyExperimentIndexGrain.StateName, legacy.GetGrainId(), new Orleans.GrainState<ExperimentIndexState>(state));

        await legacy.MoveToPartitionsAsync();

        Assert.True(await ExperimentIndex.IsCompleteAsync(Grains));
        var moved = await ExperimentIndex.ListAllAsync(Grains, new ExperimentQuery());
        Assert.Equal(old.Select(summary => summary.Id == newer.Id ? newer : summary).Reverse(), moved.Where(summary => summary.Id.StartsWith(label, StringComparison.Ordinal)));
        var read = new Orleans.GrainState<ExperimentIndexState>();
        await storage.ReadStateAsync(LegacyExperimentIndexGrain.StateName, legacy.GetGrainId(), read);
        Assert.Empty(read.State?.Experiments ?? []);
    }

    private static ExperimentSummary Summary(string id, DateTimeOffset createdAt, ExperimentStatus status, string label) => new()
    {
        Id = id,
        Name = "indexed",
        Status = status,
        CreatedAt = createdAt,
        EndedAt = status == ExperimentStatus.Running ? null : createdAt.AddMinutes(30),
        Stages = 1,
        Labels = new() { ["test"] = label },
    };

    private static string Label() => Guid.NewGuid().ToString("N")[..12];

    private static ExperimentQuery Query(string label, ExperimentStatus? status = null) => new() { Status = status, LabelName = "test", LabelValue = label };

    private IExperimentIndexPartitionGrain Partition(DateTimeOffset createdAt) => Grains.GetGrain<IExperimentIndexPartitionGrain>(ExperimentIndexBuckets.Of(createdAt));

    /// <summary>The list calls received so far by the partitions of the three minutes from <paramref name="start"/>.</summary>
    private int[] ListCalls(DateTimeOffset start) =>
        [.. Enumerable.Range(0, 3).Select(minute => ClusterFixture.Calls.Count(Partition(start.AddMinutes(minute)).GetGrainId(), nameof(IExperimentIndexPartitionGrain.ListAsync)))];

    private async Task<List<ExperimentSummary>> ListedAsync(string label) =>
        [.. (await ExperimentIndex.ListAllAsync(Grains, Query(label))).OrderBy(summary => summary.Id, StringComparer.Ordinal)];

    private async Task WaitForAsync(string label, List<ExperimentSummary> expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!expected.SequenceEqual(await ListedAsync(label)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the burst of upserts is not all listed after 15 s");
            await Task.Delay(10);
        }
    }
}
