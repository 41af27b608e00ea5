using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json.Nodes;
using Orchestrator.Silo.Api;

namespace Orchestrator.Standalone.Tests.Api;

/// <summary><c>GET /api/v1/experiments/{id}/events</c> against the standalone wiring: real runs, real events.</summary>
public sealed class ExperimentEventsApiTests(StandaloneHost host) : IClassFixture<StandaloneHost>
{
    /// <summary>Two stages in a row; the first is large enough that a reader connects while it runs.</summary>
    private static readonly string TwoStages = SmallDags.TwoDatasetsInARow("events-test", firstImages: 1500);

    private static readonly string[] StatusOrder = ["Pending", "Queued", "Running", "Succeeded"];

    [Fact]
    public async Task A_running_experiment_streams_ordered_status_and_progress_events_and_ends_with_its_final_status()
    {
        var id = await host.SubmitAsync(TwoStages);

        var events = await host.ReadEventsAsync(id, TimeSpan.FromMinutes(2));

        Assert.Equal(Enumerable.Range(1, events.Count).Select(n => n.ToString(System.Globalization.CultureInfo.InvariantCulture)), events.Select(item => item.EventId));
        var parsed = events.Select(item => (Type: item.EventType, Data: JsonNode.Parse(item.Data)!)).ToList();
        Assert.All(parsed, change => Assert.Equal(id, change.Data["experimentId"]!.GetValue<string>()));
        Assert.All(parsed, change => Assert.Equal(change.Type, change.Data["type"]!.GetValue<string>().ToLowerInvariant()));

        // The experiment: Running when the reader connected, Succeeded last, and nothing after it.
        var experiment = parsed.Where(change => change.Type == "experiment").Select(change => change.Data["experimentStatus"]!.GetValue<string>()).ToList();
        Assert.Equal(["Running", "Succeeded"], experiment);
        Assert.Equal("experiment", parsed[^1].Type);
        Assert.True(parsed[^1].Data["isFinal"]!.GetValue<bool>());

        // Each stage: statuses in lifecycle order with growing versions. A status can be skipped (never reordered):
        // when no live event comes for a while (a loaded machine), the feed catches up from the experiment's state.
        foreach (var stage in new[] { "data", "more" })
        {
            var changes = parsed.Select((change, index) => (change.Type, change.Data, Index: index))
                .Where(change => change.Data["stageId"]?.GetValue<string>() == stage).ToList();
            var statuses = changes.Where(change => change.Type == "stage").Select(change => change.Data["stageStatus"]!.GetValue<string>()).ToList();
            var versions = changes.Where(change => change.Type == "stage").Select(change => change.Data["version"]!.GetValue<long>()).ToList();
            Assert.Equal(statuses.OrderBy(status => Array.IndexOf(StatusOrder, status)), statuses);
            Assert.Equal(statuses.Count, statuses.Distinct().Count());
            Assert.Equal(versions.Order(), versions);
            Assert.Equal(["Running", "Succeeded"], statuses[^2..]);

            // Progress comes while the stage runs, step after step.
            var running = changes.Single(change => change.Type == "stage" && change.Data["stageStatus"]!.GetValue<string>() == "Running").Index;
            var succeeded = changes.Single(change => change.Type == "stage" && change.Data["stageStatus"]!.GetValue<string>() == "Succeeded").Index;
            var progress = changes.Where(change => change.Type == "progress").ToList();
            Assert.NotEmpty(progress);
            Assert.All(progress, change => Assert.InRange(change.Index, running + 1, succeeded - 1));
            var steps = progress.Select(change => change.Data["progress"]!["step"]!.GetValue<long>()).ToList();
            Assert.Equal(steps.Order().Distinct(), steps);
        }

        // 'more' was still Pending when the reader connected.
        Assert.Equal("Pending", parsed.First(change => change.Type == "stage" && change.Data["stageId"]!.GetValue<string>() == "more").Data["stageStatus"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_reader_that_connects_after_the_end_gets_the_final_state_and_the_stream_closes()
    {
        var id = await host.SubmitAsync(SmallDags.TwoDatasetsInARow("events-test"));
        await host.ReadEventsAsync(id, TimeSpan.FromMinutes(2));

        var events = await host.ReadEventsAsync(id, TimeSpan.FromSeconds(30));

        Assert.Equal(
            [("stage", "data", "Succeeded"), ("stage", "more", "Succeeded"), ("experiment", null, "Succeeded")],
            events.Select(item => Describe(item)).ToList());
    }

    [Fact]
    public async Task A_quiet_stream_gets_keep_alives_without_ids_between_its_numbered_events()
    {
        // No worker offers a GPU here, so the stage waits queued and the stream has nothing to say.
        var id = await host.SubmitAsync("""
            name: keep-alive-test
            stages:
              - id: data
                kind: dataset.synthetic
                config: { images: 10, human_images: 10, test_images: 10, image_size: 16, seed: 1 }
                resources: { device: cuda }
            """);

        var events = new List<SseItem<string>>();
        await foreach (var item in host.StreamEventsAsync(id, TimeSpan.FromMinutes(1)))
        {
            events.Add(item);
            if (events.Count(e => e.EventType == ExperimentsApi.KeepAliveEvent) == 3)
            {
                break;
            }
        }

        var numbered = events.Where(e => e.EventType != ExperimentsApi.KeepAliveEvent).ToList();
        Assert.Equal([("stage", "data", "Queued"), ("experiment", null, "Running")], numbered.Select(Describe).ToList());
        Assert.Equal(["1", "2"], numbered.Select(e => e.EventId));
        Assert.All(events.Where(e => e.EventType == ExperimentsApi.KeepAliveEvent), keepAlive => Assert.Equal((null, ""), (keepAlive.EventId, keepAlive.Data)));
        Assert.Equal(ExperimentsApi.KeepAliveEvent, events[^1].EventType);
        await host.Client.PostAsync($"/api/v1/experiments/{id}/cancel", null);
    }

    [Theory]
    [InlineData("exp-00000000000000000000")]
    [InlineData("not-an-id")]
    public async Task Events_of_an_unknown_experiment_are_a_404_problem(string id)
    {
        var response = await host.Client.GetAsync($"/api/v1/experiments/{id}/events");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains($"There is no experiment '{id}'", (await response.Content.ReadAsStringAsync()), StringComparison.Ordinal);
    }

    private static (string, string?, string) Describe(SseItem<string> item)
    {
        var data = JsonNode.Parse(item.Data)!;
        return (item.EventType, data["stageId"]?.GetValue<string>(), (data["stageStatus"] ?? data["experimentStatus"])!.GetValue<string>());
    }
}
