using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Grains.Experiments;

namespace Orchestrator.Silo.Tests.Api;

public sealed class ExperimentsApiTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private const string Dag = """
        name: api-test
        stages:
          - id: data
            kind: dataset.synthetic
            config: { images: 100, seed: 3 }
          - id: pretrain
            kind: blip.pretrain
            inputs: { train: data.web }
        """;

    private readonly HttpClient _client = fixture.Client;

    [Fact]
    public async Task A_valid_yaml_dag_is_created_with_a_location_and_every_stage()
    {
        var response = await PostAsync(Dag, "application/yaml");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await Json(response);
        var id = body["id"]!.GetValue<string>();
        Assert.Equal($"/api/v1/experiments/{id}", response.Headers.Location!.OriginalString);
        Assert.Equal("Running", body["status"]!.GetValue<string>());
        Assert.Equal(["data", "pretrain"], body["stages"]!.AsArray().Select(stage => stage!["id"]!.GetValue<string>()).ToArray());
        Assert.Equal("Queued", body["stages"]![0]!["status"]!.GetValue<string>());
        Assert.Equal("Pending", body["stages"]![1]!["status"]!.GetValue<string>());

        var fetched = await Json(await _client.GetAsync(response.Headers.Location));
        Assert.Equal(id, fetched["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Json_is_accepted_too()
    {
        var json = """{"name":"j","stages":[{"id":"d","kind":"dataset.synthetic"}]}""";

        Assert.Equal(HttpStatusCode.Created, (await PostAsync(json, "application/json")).StatusCode);
    }

    [Fact]
    public async Task A_retried_post_with_the_same_idempotency_key_returns_the_same_experiment()
    {
        var key = Guid.NewGuid().ToString();

        var first = await PostAsync(Dag, "application/yaml", key);
        var second = await PostAsync(Dag, "application/yaml", key);
        var other = await PostAsync(Dag.Replace("seed: 3", "seed: 4", StringComparison.Ordinal), "application/yaml", key);

        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        Assert.Contains("with a different spec", (await Json(other))["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_post_that_finds_the_line_of_creations_full_gets_503_with_retry_after_and_its_retry_creates_the_experiment_once()
    {
        await using var factory = new OrchestratorFactory();
        factory.Settings["Experiments:MaxQueuedCreations"] = "1";
        using var client = factory.CreateClient();
        var gate = factory.Services.GetRequiredService<CreationGate>();
        var key = Guid.NewGuid().ToString();

        HttpResponseMessage busy;
        using (var held = (await gate.TryEnterAsync()).Slot!)
        {
            busy = await PostAsync(client, Dag, "application/yaml", key);
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.StatusCode);
        Assert.True(busy.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"Retry-After: {busy.Headers.RetryAfter}");
        Assert.Contains("same Idempotency-Key", (await Json(busy))["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0, (await Json(await client.GetAsync("/api/v1/experiments")))["total"]!.GetValue<int>());

        var created = await PostAsync(client, Dag, "application/yaml", key);
        var replayed = await PostAsync(client, Dag, "application/yaml", key);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.False(created.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(created.Headers.Location, replayed.Headers.Location);
        Assert.Equal("true", replayed.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1, (await Json(await client.GetAsync("/api/v1/experiments")))["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task An_invalid_dag_gets_every_error_as_problem_details_and_creates_nothing()
    {
        var before = await TotalAsync();

        var response = await PostAsync("""
            name: broken
            stages:
              - { id: data, kind: dataset.synthetic, config: { images: many } }
              - { id: p, kind: blip.pretrain, inputs: { train: data.nope } }
            """, "application/yaml");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await Json(response);
        Assert.Equal(400, problem["status"]!.GetValue<int>());
        Assert.Equal(
            ["/stages/0/config/images", "/stages/1/inputs/train"],
            problem["errors"]!.AsArray().Select(error => error!["path"]!.GetValue<string>()).ToArray());
        Assert.Equal(before, await TotalAsync());
    }

    [Theory]
    [InlineData("text/csv", "name,stages", HttpStatusCode.UnsupportedMediaType)]
    [InlineData("application/json", "", HttpStatusCode.BadRequest)]
    [InlineData("application/json", "{ nope", HttpStatusCode.BadRequest)]
    [InlineData("application/yaml", "name: [", HttpStatusCode.BadRequest)]
    public async Task Unusable_bodies_get_problem_details(string contentType, string body, HttpStatusCode status)
    {
        var response = await PostAsync(body, contentType);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.False(string.IsNullOrEmpty((await Json(response))["detail"]?.GetValue<string>()));
    }

    [Fact]
    public async Task A_body_over_one_mebibyte_is_refused()
    {
        var response = await PostAsync("name: x\n#" + new string('x', 1024 * 1024), "application/yaml");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Bytes_that_are_not_utf8_are_refused()
    {
        using var content = new ByteArrayContent([0x6e, 0x61, 0xff, 0xfe]);
        content.Headers.ContentType = new("application/yaml");

        var response = await _client.PostAsync("/api/v1/experiments", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("UTF-8", (await Json(response))["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Experiments_are_listed_newest_first_paged_and_filtered_by_status()
    {
        var first = await IdOf(await PostAsync(Dag, "application/yaml"));
        var second = await IdOf(await PostAsync(Dag, "application/yaml"));
        await _client.PostAsync($"/api/v1/experiments/{second}/cancel", null);

        var cancelled = await Json(await _client.GetAsync("/api/v1/experiments?status=cancelled&limit=500"));
        var ids = cancelled["items"]!.AsArray().Select(item => item!["id"]!.GetValue<string>()).ToList();
        Assert.Contains(second, ids);
        Assert.DoesNotContain(first, ids);

        var page = await Json(await _client.GetAsync("/api/v1/experiments?limit=1&offset=0"));
        Assert.Single(page["items"]!.AsArray());
        Assert.True(page["total"]!.GetValue<int>() >= 2);
    }

    [Theory]
    [InlineData("/api/v1/experiments?status=happy", "status 'happy' is not an experiment status")]
    [InlineData("/api/v1/experiments?limit=0", "limit '0' must be a whole number from 1 to 500")]
    [InlineData("/api/v1/experiments?offset=x", "offset 'x' must be a whole number")]
    public async Task Bad_query_parameters_are_named(string url, string detail)
    {
        var response = await _client.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(detail, (await Json(response))["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/v1/experiments/exp-00000000000000000000")]
    [InlineData("/api/v1/experiments/not-an-id")]
    [InlineData("/api/v1/experiments/exp-00000000000000000000/lineage")]
    public async Task Unknown_experiments_are_404_problems(string url)
    {
        var response = await _client.GetAsync(url);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Cancel_resume_and_rerun_answer_with_the_experiment_or_a_conflict()
    {
        var id = await IdOf(await PostAsync(Dag, "application/yaml"));

        Assert.Equal(HttpStatusCode.Conflict, (await _client.PostAsync($"/api/v1/experiments/{id}/resume", null)).StatusCode);
        var cancelled = await Json(await _client.PostAsync($"/api/v1/experiments/{id}/cancel", null));
        Assert.Equal("Cancelled", cancelled["status"]!.GetValue<string>());
        Assert.Equal(["Cancelled", "Skipped"], cancelled["stages"]!.AsArray().Select(stage => stage!["status"]!.GetValue<string>()).ToArray());
        Assert.Equal(HttpStatusCode.Conflict, (await _client.PostAsync($"/api/v1/experiments/{id}/cancel", null)).StatusCode);

        var resumed = await Json(await _client.PostAsync($"/api/v1/experiments/{id}/resume", null));
        Assert.Equal("Running", resumed["status"]!.GetValue<string>());

        var unknownStage = await _client.PostAsync($"/api/v1/experiments/{id}/stages/nothere/rerun", null);
        Assert.Equal(HttpStatusCode.NotFound, unknownStage.StatusCode);
        Assert.Contains("its stages are: data, pretrain", (await Json(unknownStage))["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var rerun = await _client.PostAsync($"/api/v1/experiments/{id}/stages/pretrain/rerun", null);
        Assert.Equal(HttpStatusCode.OK, rerun.StatusCode);

        var lineage = await Json(await _client.GetAsync($"/api/v1/experiments/{id}/lineage"));
        Assert.Equal(id, lineage["experimentId"]!.GetValue<string>());
    }

    private Task<HttpResponseMessage> PostAsync(string body, string contentType, string? idempotencyKey = null) =>
        PostAsync(_client, body, contentType, idempotencyKey);

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string body, string contentType, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/experiments")
        {
            Content = new StringContent(body, Encoding.UTF8, contentType),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await client.SendAsync(request);
    }

    private async Task<int> TotalAsync() => (await Json(await _client.GetAsync("/api/v1/experiments")))["total"]!.GetValue<int>();

    private static async Task<string> IdOf(HttpResponseMessage response) => (await Json(response))["id"]!.GetValue<string>();

    private static async Task<JsonNode> Json(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync()) ?? throw new JsonException("empty body");
}

/// <summary>One silo host for the API tests.</summary>
public sealed class ApiFixture : IDisposable
{
    private readonly OrchestratorFactory _factory = new();

    public ApiFixture() => Client = _factory.CreateClient();

    public HttpClient Client { get; }

    public void Dispose() => _factory.Dispose();
}
