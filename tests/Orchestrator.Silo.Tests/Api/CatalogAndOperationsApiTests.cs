using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Orchestrator.Silo.Tests.Api;

public sealed class CatalogAndOperationsApiTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private readonly HttpClient _client = fixture.Client;

    [Fact]
    public async Task The_stage_kind_catalog_describes_inputs_outputs_options_and_presets()
    {
        var kinds = JsonNode.Parse(await _client.GetStringAsync("/api/v1/stage-kinds"))!.AsArray();
        var pretrain = kinds.Single(kind => kind!["name"]!.GetValue<string>() == "blip.pretrain")!;

        var train = pretrain["inputs"]!.AsArray().Single(input => input!["name"]!.GetValue<string>() == "train")!;
        Assert.Equal(("dataset", true, false), (train["accepts"]![0]!.GetValue<string>(), train["list"]!.GetValue<bool>(), train["optional"]!.GetValue<bool>()));
        Assert.Equal("checkpoint.blip", pretrain["outputs"]![0]!["type"]!.GetValue<string>());
        var momentum = pretrain["options"]!.AsArray().Single(option => option!["name"]!.GetValue<string>() == "momentum")!;
        Assert.Equal(("number", 0.995, "0", "1"), (momentum["type"]!.GetValue<string>(), momentum["default"]!.GetValue<double>(),
            momentum["minimum"]!.GetValue<string>(), momentum["maximum"]!.GetValue<string>()));
        var schedule = pretrain["options"]!.AsArray().Single(option => option!["name"]!.GetValue<string>() == "lr_schedule")!;
        Assert.Equal(["cosine", "step"], schedule["values"]!.AsArray().Select(value => value!.GetValue<string>()).ToArray());
        Assert.Equal(57600, pretrain["presets"]!["base"]!["queue_size"]!.GetValue<int>());

        // What submission checks beyond the accepted types is shown too: evaluate's task narrows its checkpoint, and
        // stage 1's text init decides the Q-Former's shape.
        var evaluate = kinds.Single(kind => kind!["name"]!.GetValue<string>() == "evaluate")!;
        var byTask = evaluate["inputs"]!.AsArray().Single(input => input!["name"]!.GetValue<string>() == "checkpoint")!["acceptsByOption"]!;
        Assert.Equal("task", byTask["option"]!.GetValue<string>());
        Assert.Equal(["checkpoint.blip.captioner", "checkpoint.blip2", "checkpoint.blip2.captioner"], byTask["types"]!["caption"]!.AsArray().Select(type => type!.GetValue<string>()));
        var stage1 = kinds.Single(kind => kind!["name"]!.GetValue<string>() == "blip2.stage1")!;
        var textInit = stage1["inputs"]!.AsArray().Single(input => input!["name"]!.GetValue<string>() == "text_init")!;
        Assert.Contains("qformer_width", textInit["decides"]!["options"]!.AsArray().Select(option => option!.GetValue<string>()));

        // What a dataset output holds under its producer's options, and what a dataset input needs (here by evaluate's task).
        var dataset = evaluate["inputs"]!.AsArray().Single(input => input!["name"]!.GetValue<string>() == "dataset")!;
        Assert.Equal(["vqa_questions"], dataset["needsByOption"]!["needs"]!["vqa"]!.AsArray().Select(need => need!.GetValue<string>()));
        Assert.Equal(["captions"], train["needs"]!.AsArray().Select(need => need!.GetValue<string>()));
        var llm = evaluate["inputs"]!.AsArray().Single(input => input!["name"]!.GetValue<string>() == "llm")!;
        Assert.Equal(["checkpoint.blip2", "checkpoint.blip2.captioner", "checkpoint.blip2.vqa"], llm["neededWhen"]![0]!["types"]!.AsArray().Select(type => type!.GetValue<string>()));
        var synthetic = kinds.Single(kind => kind!["name"]!.GetValue<string>() == "dataset.synthetic")!;
        Assert.Equal(
            [("captions", (string?)null), ("vqa_questions", "vqa_questions above 0"), ("nlvr2_statements", "nlvr2_pairs above 0")],
            synthetic["outputs"]![0]!["holds"]!.AsArray().Select(hold => (hold!["content"]!.GetValue<string>(), hold["when"]?.GetValue<string>())));
    }

    [Fact]
    public async Task The_openapi_document_lists_the_api()
    {
        var document = JsonNode.Parse(await _client.GetStringAsync("/openapi/v1.json"))!;

        var paths = document["paths"]!.AsObject().Select(path => path.Key).ToList();
        Assert.Contains("/api/v1/experiments", paths);
        Assert.Contains("/api/v1/experiments/{id}/stages/{stageId}/rerun", paths);
        Assert.Contains("/api/v1/stage-kinds", paths);
    }

    [Fact]
    public async Task Health_and_readiness_answer()
    {
        Assert.Equal("ok", await _client.GetStringAsync("/healthz"));
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task The_orchestrators_metrics_are_served_in_prometheus_format()
    {
        using var content = new StringContent("name: m\nstages:\n  - { id: d, kind: dataset.synthetic }\n", System.Text.Encoding.UTF8, "application/yaml");
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/api/v1/experiments", content)).StatusCode);

        var metrics = await _client.GetStringAsync("/metrics");

        Assert.Contains("orchestrator_stage_transitions_total{", metrics, StringComparison.Ordinal);
        Assert.Contains("kind=\"dataset.synthetic\"", metrics, StringComparison.Ordinal);
        Assert.Contains("orchestrator_queue_depth", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Counters_start_at_zero_and_experiments_are_counted_by_status_from_the_index()
    {
        using var content = new StringContent("name: m\nstages:\n  - { id: d, kind: dataset.synthetic }\n", System.Text.Encoding.UTF8, "application/yaml");
        var created = await _client.PostAsync("/api/v1/experiments", content);
        var id = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await _client.PostAsync($"/api/v1/experiments/{id}/cancel", null)).StatusCode);

        // The gauge is refreshed from the index every few seconds; a cancelled stage ends with a duration.
        var metrics = await ScrapeUntilAsync(text =>
            Regex.Match(text, "^orchestrator_experiments\\{otel_scope_name=\"Orchestrator\",status=\"Cancelled\"\\} ([0-9]+)", RegexOptions.Multiline) is { Success: true } cancelled
            && int.Parse(cancelled.Groups[1].Value, CultureInfo.InvariantCulture) >= 1
            && text.Contains("orchestrator_stage_duration_seconds_count{otel_scope_name=\"Orchestrator\",kind=\"dataset.synthetic\",status=\"Cancelled\"}", StringComparison.Ordinal));

        foreach (var status in new[] { "Pending", "Running", "Succeeded", "Failed" })
        {
            Assert.Contains($"orchestrator_experiments{{otel_scope_name=\"Orchestrator\",status=\"{status}\"}} ", metrics, StringComparison.Ordinal);
        }

        Assert.Contains("orchestrator_workers_lost_total{otel_scope_name=\"Orchestrator\"} 0", metrics, StringComparison.Ordinal);
        Assert.Contains("orchestrator_transport_outages_total{otel_scope_name=\"Orchestrator\"} 0", metrics, StringComparison.Ordinal);
        Assert.Contains("orchestrator_reports_ignored_total{otel_scope_name=\"Orchestrator\",reason=\"stale\"} 0", metrics, StringComparison.Ordinal);
        Assert.Contains("orchestrator_stage_retries_total{otel_scope_name=\"Orchestrator\",kind=\"blip2.stage2\"} 0", metrics, StringComparison.Ordinal);
        Assert.Contains("orchestrator_stage_duration_seconds_bucket{otel_scope_name=\"Orchestrator\",kind=\"dataset.synthetic\",status=\"Cancelled\",le=\"604800\"}", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Workers_are_listed()
    {
        var snapshot = JsonNode.Parse(await _client.GetStringAsync("/api/v1/workers"))!;

        Assert.NotNull(snapshot["workers"]);
        Assert.NotNull(snapshot["queueDepth"]);
    }

    [Fact]
    public async Task An_unknown_route_is_a_problem_not_an_empty_404()
    {
        var response = await _client.GetAsync("/api/v1/nothing");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    private async Task<string> ScrapeUntilAsync(Func<string, bool> done)
    {
        using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var text = await _client.GetStringAsync("/metrics", cancellation.Token);
            if (done(text))
            {
                return text;
            }

            await Task.Delay(200, cancellation.Token);
        }
    }
}
