using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Specs;
using Orchestrator.Testing.Fuzz;
using Xunit.Abstractions;

namespace Orchestrator.Silo.Tests.Api;

/// <summary>
/// Fuzzes the HTTP API in process: thousands of hostile bodies sent to <c>POST /api/v1/experiments</c> as YAML and JSON
/// (alias bombs, deep nesting, huge values, merge and duplicate keys, wide specs, mutated and generated specs, bytes that
/// are not UTF-8, odd content types), and hostile ids and query strings sent to the other routes.
/// </summary>
/// <remarks>
/// Invariants: never a 5xx, and no error logged by the host (an unhandled exception would be); every refusal is a 4xx
/// with problem details; a refused submission creates nothing (the experiment count moves only with a 201). Each test
/// prints its case count, its time and its slowest case to standard output, which
/// <c>dotnet test --logger "console;verbosity=normal"</c> shows for passing tests, as
/// <c>fuzz api ...: N cases in T s, seed S (replay: SPEC_FUZZ_SEED=S); slowest case X ms: ...</c>; see <see cref="FuzzRun"/>
/// for replaying a seed or a single case.
/// </remarks>
public sealed class ExperimentsApiFuzzTests(ApiFuzzFixture fixture, ITestOutputHelper output) : IClassFixture<ApiFuzzFixture>
{
    private static readonly IReadOnlyList<SeedSpec> Corpus = SpecCorpus.Build([("two datasets", SmallDags.TwoDatasetsInARow("fuzz"))]);

    private static readonly string[] ContentTypes =
        ["application/json", "application/yaml", "text/yaml", "application/x-yaml", "application/vnd.x+json", "application/yaml; charset=utf-16", "text/plain", "application/xml"];

    private readonly HttpClient _client = fixture.Client;

    [Fact]
    public async Task Hostile_spec_bodies_are_refused_with_a_4xx_problem_create_nothing_and_never_fail_the_server()
    {
        var run = new FuzzRun("api: hostile spec bodies", output);
        var created = 0;
        var baseline = await TotalAsync();
        foreach (var number in run.CaseNumbers(2500))
        {
            var random = run.CaseRandom(number);
            var input = Next(random);
            var contentType = random.Next(25) == 0 ? ContentTypes[random.Next(ContentTypes.Length)] : input.Format == SpecFormat.Json ? "application/json" : "application/yaml";
            await run.CaseAsync(number, $"{input.Description} ({contentType})", input.Text, async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/experiments") { Content = new ByteArrayContent(input.Body) };
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
                request.Headers.Add("Idempotency-Key", $"fuzz-{run.Seed}-{number}");
                using var response = await _client.SendAsync(request);
                run.Count(((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));

                Assert.Contains(response.StatusCode, new[] { HttpStatusCode.Created, HttpStatusCode.BadRequest, HttpStatusCode.RequestEntityTooLarge, HttpStatusCode.UnsupportedMediaType });
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    created++;
                }
                else
                {
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                    Assert.False(string.IsNullOrEmpty(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["detail"]?.GetValue<string>()));
                }

                Assert.Equal(baseline + created, await TotalAsync());
            });
        }

        fixture.AssertNoErrorLogged();
        run.Finish();
    }

    [Fact]
    public async Task Hostile_ids_and_query_strings_get_a_4xx_problem_and_never_fail_the_server()
    {
        var run = new FuzzRun("api: hostile ids and query strings", output);
        foreach (var number in run.CaseNumbers(1200))
        {
            var random = run.CaseRandom(number);
            var (method, path) = HostileRoutes.Next(random);
            await run.CaseAsync(number, $"{method} {FuzzRun.Shorten(path, 120)}", path, async () =>
            {
                using var request = new HttpRequestMessage(method, path);
                using var response = await _client.SendAsync(request);
                run.Count(((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));

                Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode} for {method} {path}");
                if (!response.IsSuccessStatusCode)
                {
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                }
            });
        }

        fixture.AssertNoErrorLogged();
        run.Finish();
    }

    private static FuzzInput Next(Random random) => random.Next(100) switch
    {
        < 8 => HostileSpecs.AliasBomb(random),
        < 16 => HostileSpecs.DeepNesting(random),
        < 22 => HostileSpecs.HugeScalar(random),
        < 28 => HostileSpecs.MergeKeys(random),
        < 30 => HostileSpecs.Wide(random),
        < 38 => SpecMutations.BreakEncoding(random, SpecMutations.MutateText(random, Corpus)),
        < 60 => SpecMutations.MutateText(random, Corpus),
        < 78 => SpecMutations.ReplaceValues(random, Corpus),
        _ => SpecTrees.Draw(random),
    };

    private async Task<int> TotalAsync() =>
        JsonNode.Parse(await _client.GetStringAsync("/api/v1/experiments?limit=1"))!["total"]!.GetValue<int>();
}

/// <summary>One silo host for the API fuzzers, with every log line captured.</summary>
public sealed class ApiFuzzFixture : IDisposable
{
    private readonly LogCapture _logs = new();
    private readonly OrchestratorFactory _factory;

    public ApiFuzzFixture()
    {
        _factory = new OrchestratorFactory { ConfigureHost = host => host.ConfigureLogging(logging => logging.AddProvider(_logs)) };

        // Thousands of requests from one client in seconds: the rate limit would answer most of them with 429 before
        // the reader saw them (RateLimitTests covers the limit).
        _factory.Settings["RateLimits:PermitsPerSecond"] = "0";
        Client = _factory.CreateClient();
    }

    public HttpClient Client { get; }

    /// <summary>An unhandled exception in a request is logged as an error by ASP.NET Core even when the answer is a problem.</summary>
    public void AssertNoErrorLogged() =>
        Assert.Empty(_logs.Lines.Where(line => line.Level >= LogLevel.Error).Select(line => $"{line.Category}: {line.Message}"));

    public void Dispose() => _factory.Dispose();
}
