using System.Net;

namespace Orchestrator.Silo.Tests.Security;

/// <summary>Requests per caller past the rate limit: 429 with Retry-After, and nothing they carried done.</summary>
public sealed class RateLimitTests : IDisposable
{
    private const int Burst = 3;

    // One permit a second after the burst: the bursts below take well under a second, at most one more gets through.
    private readonly KeyedApi _api = new(new Dictionary<string, string?> { ["RateLimits:Burst"] = $"{Burst}", ["RateLimits:PermitsPerSecond"] = "1" });

    [Fact]
    public async Task A_burst_past_the_limit_gets_429_with_retry_after_and_creates_only_what_was_accepted()
    {
        var responses = new List<HttpResponseMessage>();
        for (var index = 0; index < 10; index++)
        {
            responses.Add(await _api.SendAsync(HttpMethod.Post, "/api/v1/experiments", "alice", KeyedApi.Dag, idempotencyKey: $"burst-{index}"));
        }

        var created = responses.Count(response => response.StatusCode == HttpStatusCode.Created);
        var limited = responses.Where(response => response.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(responses.Count, created + limited.Count);
        Assert.InRange(created, Burst, Burst + 1);
        Assert.All(responses.Take(Burst), response => Assert.Equal(HttpStatusCode.Created, response.StatusCode));
        foreach (var response in limited)
        {
            Assert.InRange(int.Parse(response.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
            Assert.StartsWith("The caller 'key:alice' sent more requests than its rate limit allows", (await KeyedApi.JsonAsync(response))["detail"]!.GetValue<string>());
        }

        // Another caller has its own bucket, and sees exactly the experiments the accepted requests created.
        var listed = await KeyedApi.JsonAsync(await _api.SendAsync(HttpMethod.Get, "/api/v1/experiments?limit=500", "root"));
        Assert.Equal(created, listed["total"]!.GetValue<int>());
        Assert.All(listed["items"]!.AsArray(), item => Assert.Equal("key:alice", item!["submittedBy"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Health_checks_are_never_limited()
    {
        for (var index = 0; index < 3 * Burst; index++)
        {
            Assert.Equal(HttpStatusCode.OK, (await _api.SendAsync(HttpMethod.Get, "/healthz", role: null)).StatusCode);
        }
    }

    public void Dispose() => _api.Dispose();
}
