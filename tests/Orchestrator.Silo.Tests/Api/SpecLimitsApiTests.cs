using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Specs;
using Orchestrator.Silo.Api;

namespace Orchestrator.Silo.Tests.Api;

/// <summary>
/// The spec limits as the API applies them (issue 21): a hostile spec is a 400 invalid-spec problem naming the limit
/// and its setting, nothing is created, and the limits come from configuration section <c>SpecLimits</c>.
/// </summary>
public sealed class SpecLimitsApiTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    /// <summary>The issue's "billion laughs": nine levels, each list repeating the one before nine times.</summary>
    private const string AliasBomb = """
        name: laughs
        a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
        h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
        i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
        stages: *i
        """;

    private readonly HttpClient _client = fixture.Client;

    [Fact]
    public async Task The_alias_bomb_from_the_issue_is_a_400_naming_the_node_limit_and_creates_nothing()
    {
        var before = await TotalAsync();

        var response = await PostAsync(AliasBomb, "application/yaml");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await Json(response);
        Assert.Equal("urn:blip-orchestrator:problem:invalid-spec", problem["type"]!.GetValue<string>());
        var error = Assert.Single(problem["errors"]!.AsArray())!;
        Assert.Equal("/f/0", error["path"]!.GetValue<string>());
        Assert.Equal(
            "the spec expands past 100000 nodes through aliases (the alias at line 7 adds 66430; SpecLimits:MaxNodes); write the repeated part out fewer times or raise the limit",
            error["message"]!.GetValue<string>());
        Assert.Equal(before, await TotalAsync());
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/yaml")]
    public async Task Deep_nesting_is_a_400_naming_the_depth_limit(string contentType)
    {
        var body = contentType == "application/json"
            ? string.Concat(Enumerable.Repeat("""{"a":""", 200)) + "1" + new string('}', 200)
            : string.Concat(Enumerable.Repeat("[", 200)) + new string(']', 200);

        var response = await PostAsync(body, contentType);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(
            "the spec nests lists and mappings deeper than 64 levels (SpecLimits:MaxDepth); flatten it or raise the limit",
            Assert.Single((await Json(response))["errors"]!.AsArray())!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_body_over_the_byte_limit_is_a_413_naming_the_setting()
    {
        var response = await PostAsync("name: x\n#" + new string('x', 1024 * 1024), "application/yaml");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(
            "The spec is over 1048585 bytes; the limit is 1048576 bytes (SpecLimits:MaxBytes). Split the experiment or raise the limit.",
            (await Json(response))["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_limits_come_from_the_SpecLimits_section()
    {
        using var factory = new OrchestratorFactory();
        factory.Settings["SpecLimits:MaxNodes"] = "20";
        factory.Settings["SpecLimits:MaxBytes"] = "2048";
        using var client = factory.CreateClient();

        var limits = factory.Services.GetRequiredService<IOptions<SpecLimits>>().Value;
        var tooMany = await client.PostAsync("/api/v1/experiments", new StringContent(SmallDags.TwoDatasetsInARow("limited"), Encoding.UTF8, "application/yaml"));
        var tooLong = await client.PostAsync("/api/v1/experiments", new StringContent($"name: {new string('n', 2100)}", Encoding.UTF8, "application/yaml"));

        Assert.Equal(SpecLimits.Default with { MaxNodes = 20, MaxBytes = 2048 }, limits);
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.Contains("(mappings, lists, keys and values; SpecLimits:MaxNodes)", (await tooMany.Content.ReadAsStringAsync()), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLong.StatusCode);
    }

    [Theory]
    [InlineData("MaxDepth", "1000", "SpecLimits:MaxDepth must be from 4 to 64, e.g. 64")]
    [InlineData("MaxNodes", "0", "SpecLimits:MaxNodes must be from 16 to 10000000, e.g. 100000")]
    [InlineData("MaxBytes", "-1", "SpecLimits:MaxBytes must be from 1024 to 67108864 (64 MiB), e.g. 1048576")]
    [InlineData("MaxScalarLength", "8", "SpecLimits:MaxScalarLength must be from 16 to 67108864, e.g. 65536")]
    public void Limits_out_of_range_are_refused_naming_the_setting(string key, string value, string message)
    {
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection([new($"SpecLimits:{key}", value)]).Build())
            .AddExperimentSubmissions();
        using var provider = services.BuildServiceProvider();

        var refused = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<SpecLimits>>().Value);

        Assert.Contains(message, Assert.Single(refused.Failures), StringComparison.Ordinal);
    }

    private async Task<HttpResponseMessage> PostAsync(string body, string contentType) =>
        await _client.PostAsync("/api/v1/experiments", new StringContent(body, Encoding.UTF8, contentType));

    private async Task<int> TotalAsync() => (await Json(await _client.GetAsync("/api/v1/experiments?limit=1")))["total"]!.GetValue<int>();

    private static async Task<JsonNode> Json(HttpResponseMessage response) => JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
}
