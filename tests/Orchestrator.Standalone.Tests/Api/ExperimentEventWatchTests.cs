using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Grains.Events;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Specs;
using Orleans.Streams;

namespace Orchestrator.Standalone.Tests.Api;

/// <summary>
/// Live events are published only while a reader watches (the events API and <c>--run</c> watch through their feed),
/// and the experiment publishes them in the order it learned them. Read here straight from the experiment's stream,
/// under the feed.
/// </summary>
public sealed class ExperimentEventWatchTests(StandaloneHost host) : IClassFixture<StandaloneHost>
{
    private static readonly string TwoStages = SmallDags.TwoDatasetsInARow("watch-test");

    [Fact]
    public async Task An_experiment_nobody_watches_publishes_nothing_and_a_watched_one_publishes_every_change_before_the_status_it_leads_to()
    {
        var unwatched = new ConcurrentQueue<ExperimentEvent>();
        var watched = new ConcurrentQueue<ExperimentEvent>();
        var unwatchedId = $"exp-unwatched-{Guid.NewGuid():N}"[..24];
        var watchedId = $"exp-watched-{Guid.NewGuid():N}"[..24];
        var subscriptions = new[] { await SubscribeAsync(unwatchedId, unwatched), await SubscribeAsync(watchedId, watched) };

        // The unwatched experiment runs to its end first; the watched one after it, so that by the time the watched
        // one's last event arrives, anything the first had published would have been delivered too.
        await CreateAsync(unwatchedId);
        await WaitForAsync(() => StatusAsync(unwatchedId), ExperimentStatus.Succeeded);
        await Experiment(watchedId).WatchAsync(TimeSpan.FromMinutes(5));
        await CreateAsync(watchedId);
        await WaitForAsync(() => Task.FromResult<ExperimentStatus?>(watched.Any(change => change.IsFinal) ? ExperimentStatus.Succeeded : ExperimentStatus.Running), ExperimentStatus.Succeeded);
        foreach (var subscription in subscriptions)
        {
            await subscription.UnsubscribeAsync();
        }

        Assert.Empty(unwatched);
        var events = watched.ToList();
        Assert.All(events, change => Assert.Equal(watchedId, change.ExperimentId));
        foreach (var stage in new[] { "data", "more" })
        {
            var statuses = events.Where(change => change.Type == ExperimentEventType.Stage && change.StageId == stage).Select(change => change.StageStatus.ToString());
            Assert.Equal(["Queued", "Running", "Succeeded"], statuses);
        }

        // The second stage is queued only after the first succeeded, and the experiment ends after its last stage.
        var order = events.Select(change => change.Type == ExperimentEventType.Experiment ? $"experiment {change.ExperimentStatus}" : $"{change.StageId} {change.StageStatus}")
            .Where(name => !name.EndsWith("Running", StringComparison.Ordinal) || name.StartsWith("experiment", StringComparison.Ordinal)).ToList();
        Assert.Equal(["data Queued", "data Succeeded", "more Queued", "more Succeeded", "experiment Succeeded"], order);
        Assert.True(events[^1].IsFinal);
    }

    [Fact]
    public async Task A_watch_needs_a_positive_lease_no_longer_than_the_maximum()
    {
        var experiment = Experiment($"exp-lease-{Guid.NewGuid():N}"[..24]);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => experiment.WatchAsync(TimeSpan.Zero));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => experiment.WatchAsync(ExperimentGrain.MaxWatchLease + TimeSpan.FromSeconds(1)));
        await experiment.WatchAsync(ExperimentGrain.MaxWatchLease);
    }

    private IExperimentGrain Experiment(string id) => host.Services.GetRequiredService<IGrainFactory>().GetGrain<IExperimentGrain>(id);

    private async Task CreateAsync(string id)
    {
        var prepared = ExperimentDrafts.Prepare(TwoStages, SpecFormat.Yaml, id);
        Assert.Equal(CreateOutcome.Created, (await Experiment(id).CreateAsync(prepared.Draft!)).Outcome);
    }

    private async Task<ExperimentStatus?> StatusAsync(string id) => (await Experiment(id).GetAsync())?.Status;

    private Task<StreamSubscriptionHandle<ExperimentEvent>> SubscribeAsync(string id, ConcurrentQueue<ExperimentEvent> into) =>
        host.Services.GetRequiredService<IClusterClient>().GetStreamProvider(ExperimentEventStreams.Provider)
            .GetStream<ExperimentEvent>(ExperimentEventStreams.Of(id))
            .SubscribeAsync((change, _) =>
            {
                into.Enqueue(change);
                return Task.CompletedTask;
            });

    private static async Task WaitForAsync(Func<Task<ExperimentStatus?>> status, ExperimentStatus expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (await status() != expected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"still not {expected} after 2 minutes");
            await Task.Delay(20);
        }
    }
}
