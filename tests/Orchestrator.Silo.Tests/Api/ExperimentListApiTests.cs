using System.Buffers.Text;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Orchestrator.Silo.Tests.Api;

/// <summary><c>GET /api/v1/experiments</c>: labels in the summaries, the label filter, cursor pages and what a bad query gets.</summary>
public sealed class ExperimentListApiTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private readonly HttpClient _client = fixture.Client;

    [Fact]
    public async Task A_label_filter_lists_only_its_experiments_with_their_labels_and_a_cursor_pages_through_them()
    {
        var batch = Guid.NewGuid().ToString("N")[..12];
        var submitted = new List<string>();
        for (var number = 0; number < 5; number++)
        {
            submitted.Add(await SubmitAsync(batch, number % 2 == 0 ? "vision" : "text"));
        }

        await SubmitAsync(Guid.NewGuid().ToString("N")[..12], "vision");

        var whole = await JsonAsync($"/api/v1/experiments?label=batch:{batch}&limit=500");
        var ids = Ids(whole);
        Assert.Equal(submitted.Order(StringComparer.Ordinal), ids.Order(StringComparer.Ordinal));
        Assert.Equal(5, whole["total"]!.GetValue<int>());
        Assert.Null(whole["nextCursor"]);
        Assert.All(whole["items"]!.AsArray(), item => Assert.Equal(batch, item!["labels"]!["batch"]!.GetValue<string>()));

        // Pages of two, each from the previous page's cursor, give the same experiments in the same order.
        var paged = new List<string>();
        var offsets = new List<int>();
        string? cursor = null;
        do
        {
            var page = await JsonAsync($"/api/v1/experiments?label=batch:{batch}&limit=2" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"));
            paged.AddRange(Ids(page));
            offsets.Add(page["offset"]!.GetValue<int>());
            Assert.Equal(5, page["total"]!.GetValue<int>());
            cursor = page["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null);

        Assert.Equal(ids, paged);
        Assert.Equal([0, 2, 4], offsets);

        // The label filter with a status, and a label two experiments share.
        var running = await JsonAsync($"/api/v1/experiments?label=batch:{batch}&status=running");
        Assert.Equal(5, running["total"]!.GetValue<int>());
        Assert.Equal(0, (await JsonAsync($"/api/v1/experiments?label=batch:{batch}&status=succeeded"))["total"]!.GetValue<int>());
        var textOnes = await JsonAsync($"/api/v1/experiments?label=team:text-{batch}");
        Assert.Equal(new[] { submitted[3], submitted[1] }.Order(StringComparer.Ordinal), Ids(textOnes).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("cursor=not*base64", "cursor 'not*base64' is not one this API gave out; send the nextCursor of the previous page unchanged")]
    [InlineData("cursor=aGVsbG8", "cursor 'aGVsbG8' is not one this API gave out")]
    [InlineData("cursor=", "cursor '' is not one this API gave out")]
    [InlineData("label=team", "label 'team' must be NAME:VALUE")]
    [InlineData("label=:vision", "label ':vision' must be NAME:VALUE")]
    [InlineData("label=a:b&label=c:d", "label was given 2 times; a listing filters by one label")]
    [InlineData("offset=0&cursor=abc", "offset and cursor were both given")]
    public async Task A_bad_cursor_or_label_is_a_400_that_says_what_to_send(string query, string detail)
    {
        var response = await _client.GetAsync($"/api/v1/experiments?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(detail, (await JsonAsync(response))["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cursor_made_up_or_sent_with_other_filters_is_a_400()
    {
        var made = Base64Url.EncodeToString(Encoding.UTF8.GetBytes("c1\n638000000000000000\nnot-an-id\n"));
        var madeUp = await _client.GetAsync($"/api/v1/experiments?cursor={made}");
        Assert.Equal(HttpStatusCode.BadRequest, madeUp.StatusCode);
        Assert.Contains("is not one this API gave out", (await JsonAsync(madeUp))["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        var tooLong = await _client.GetAsync($"/api/v1/experiments?cursor={new string('A', 5000)}");
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);

        await SubmitAsync(Guid.NewGuid().ToString("N")[..12], "vision");
        await SubmitAsync(Guid.NewGuid().ToString("N")[..12], "vision");
        var cursor = (await JsonAsync("/api/v1/experiments?status=running&limit=1"))["nextCursor"]!.GetValue<string>();
        var otherFilters = await _client.GetAsync($"/api/v1/experiments?status=failed&limit=1&cursor={Uri.EscapeDataString(cursor)}");
        Assert.Equal(HttpStatusCode.BadRequest, otherFilters.StatusCode);
        Assert.Contains("continues a listing with status=Running, not one with status=Failed", (await JsonAsync(otherFilters))["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/api/v1/experiments?status=running&limit=1&cursor={Uri.EscapeDataString(cursor)}")).StatusCode);
    }

    private async Task<string> SubmitAsync(string batch, string team)
    {
        using var content = new StringContent(
            $"name: listed\nlabels: {{ batch: \"{batch}\", team: \"{team}-{batch}\" }}\nstages:\n  - {{ id: data, kind: dataset.synthetic }}\n", Encoding.UTF8, "application/yaml");
        var response = await _client.PostAsync("/api/v1/experiments", content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await JsonAsync(response))["id"]!.GetValue<string>();
    }

    private static List<string> Ids(JsonNode page) => [.. page["items"]!.AsArray().Select(item => item!["id"]!.GetValue<string>())];

    private async Task<JsonNode> JsonAsync(string url) => await JsonAsync(await _client.GetAsync(url));

    private static async Task<JsonNode> JsonAsync(HttpResponseMessage response) => JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
}
