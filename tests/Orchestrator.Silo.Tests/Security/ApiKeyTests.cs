using System.Net;
using Orchestrator.Silo.Security;

namespace Orchestrator.Silo.Tests.Security;

/// <summary>API keys and scopes on every endpoint, through the real host: who may do what, and what a refusal says.</summary>
public sealed class ApiKeyTests : IDisposable
{
    private readonly KeyedApi _api = new();

    [Theory]
    [InlineData("GET", "/api/v1/experiments")]
    [InlineData("POST", "/api/v1/experiments")]
    [InlineData("GET", "/api/v1/experiments/exp-00000000000000000000/events")]
    [InlineData("POST", "/api/v1/experiments/exp-00000000000000000000/cancel")]
    [InlineData("GET", "/api/v1/stage-kinds")]
    [InlineData("GET", "/api/v1/workers")]
    [InlineData("GET", "/api/v1/auth/me")]
    [InlineData("GET", "/no/such/route")]
    public async Task Without_a_credential_every_api_endpoint_answers_401_with_problem_details_and_a_challenge(string method, string url)
    {
        var response = await _api.SendAsync(new HttpMethod(method), url, role: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("ApiKey", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("This endpoint needs a credential: send an API key in the X-Api-Key header", (await KeyedApi.JsonAsync(response))["detail"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    [InlineData("/metrics")]
    [InlineData("/openapi/v1.json")]
    public async Task Health_metrics_and_the_api_description_stay_open(string url)
    {
        Assert.Equal(HttpStatusCode.OK, (await _api.SendAsync(HttpMethod.Get, url, role: null)).StatusCode);
    }

    [Fact]
    public async Task A_read_key_reads_but_cannot_submit_cancel_or_rerun()
    {
        var id = await _api.SubmitAsync("alice");

        Assert.Equal(HttpStatusCode.OK, (await _api.SendAsync(HttpMethod.Get, $"/api/v1/experiments/{id}", "reader")).StatusCode);
        var submit = await _api.SendAsync(HttpMethod.Post, "/api/v1/experiments", "reader", KeyedApi.Dag);
        var cancel = await _api.SendAsync(HttpMethod.Post, $"/api/v1/experiments/{id}/cancel", "reader");
        var rerun = await _api.SendAsync(HttpMethod.Post, $"/api/v1/experiments/{id}/stages/data/rerun", "reader");

        Assert.Equal([HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden], [submit.StatusCode, cancel.StatusCode, rerun.StatusCode]);
        Assert.Equal(
            "The caller 'key:reader' lacks the scope 'submit' that POST /api/v1/experiments needs; ask an administrator for a key or token with it.",
            (await KeyedApi.JsonAsync(submit))["detail"]!.GetValue<string>());
        Assert.Equal(
            $"The caller 'key:reader' lacks the scope 'operate' or 'submit' that POST /api/v1/experiments/{id}/cancel needs; ask an administrator for a key or token with it.",
            (await KeyedApi.JsonAsync(cancel))["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_submit_key_operates_on_its_own_experiments_only_and_operate_on_anyones()
    {
        var id = await _api.SubmitAsync("alice");
        var view = await KeyedApi.JsonAsync(await _api.SendAsync(HttpMethod.Get, $"/api/v1/experiments/{id}", "reader"));
        Assert.Equal("key:alice", view["submittedBy"]!.GetValue<string>());

        var byBob = await _api.SendAsync(HttpMethod.Post, $"/api/v1/experiments/{id}/cancel", "bob");
        Assert.Equal(HttpStatusCode.Forbidden, byBob.StatusCode);
        Assert.Equal(
            $"Experiment {id} was submitted by 'key:alice', not by 'key:bob'; cancelling another caller's experiment needs the 'operate' scope.",
            (await KeyedApi.JsonAsync(byBob))["detail"]!.GetValue<string>());
        Assert.Equal("Running", (await KeyedApi.JsonAsync(await _api.SendAsync(HttpMethod.Get, $"/api/v1/experiments/{id}", "reader")))["status"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await _api.SendAsync(HttpMethod.Post, $"/api/v1/experiments/{id}/cancel", "alice")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _api.SendAsync(HttpMethod.Post, $"/api/v1/experiments/{id}/resume", "bob")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.SendAsync(HttpMethod.Post, $"/api/v1/experiments/{id}/resume", "ops")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.SendAsync(HttpMethod.Post, $"/api/v1/experiments/{id}/stages/data/rerun", "root")).StatusCode);
    }

    [Fact]
    public async Task A_key_that_worked_is_refused_once_the_keys_file_marks_it_revoked_or_expired()
    {
        Assert.Equal(HttpStatusCode.OK, (await _api.SendAsync(HttpMethod.Get, "/api/v1/auth/me", "reader")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.SendAsync(HttpMethod.Get, "/api/v1/auth/me", "bob")).StatusCode);

        _api.WriteKeys(
        [
            KeyedApi.Entry("reader", [Scopes.Read], revoked: true),
            KeyedApi.Entry("bob", [Scopes.Submit], expires: new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero)),
            KeyedApi.Entry("alice", [Scopes.Submit]),
        ]);

        var revoked = await _api.SendAsync(HttpMethod.Get, "/api/v1/auth/me", "reader");
        var expired = await _api.SendAsync(HttpMethod.Get, "/api/v1/auth/me", "bob");
        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized), (revoked.StatusCode, expired.StatusCode));
        Assert.Equal("The API key 'reader' was revoked; ask an administrator for a new key.", (await KeyedApi.JsonAsync(revoked))["detail"]!.GetValue<string>());
        Assert.Equal("The API key 'bob' expired at 2020-01-01 00:00:00Z; ask an administrator for a new key.", (await KeyedApi.JsonAsync(expired))["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Unauthorized, (await _api.SendAsync(HttpMethod.Get, "/api/v1/auth/me", "root")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.SendAsync(HttpMethod.Get, "/api/v1/auth/me", "alice")).StatusCode);
    }

    [Fact]
    public async Task A_keys_file_that_breaks_leaves_the_keys_read_last_in_force()
    {
        File.WriteAllText(_api.KeysFile, "[{ not json");

        Assert.Equal(HttpStatusCode.OK, (await _api.SendAsync(HttpMethod.Get, "/api/v1/auth/me", "reader")).StatusCode);
    }

    [Fact]
    public async Task An_unknown_key_is_refused_and_a_key_also_works_as_a_bearer_token()
    {
        using var unknown = new HttpRequestMessage(HttpMethod.Get, "/api/v1/auth/me") { Headers = { { ApiKeyAuthenticationHandler.Header, "bo_guessed" } } };
        var refused = await _api.Client.SendAsync(unknown);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.StartsWith("The API key is not known", (await KeyedApi.JsonAsync(refused))["detail"]!.GetValue<string>());

        using var bearer = new HttpRequestMessage(HttpMethod.Get, "/api/v1/auth/me") { Headers = { Authorization = KeyedApi.Bearer(KeyedApi.KeyOf("ops")) } };
        var me = await KeyedApi.JsonAsync(await _api.Client.SendAsync(bearer));
        Assert.Equal("key:ops", me["caller"]!.GetValue<string>());
        Assert.Equal(["read", "operate"], me["scopes"]!.AsArray().Select(scope => scope!.GetValue<string>()));
    }

    [Fact]
    public async Task The_event_stream_needs_read()
    {
        var id = await _api.SubmitAsync("alice");

        Assert.Equal(HttpStatusCode.Forbidden, (await _api.SendAsync(HttpMethod.Get, $"/api/v1/experiments/{id}/events", "alice")).StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/experiments/{id}/events") { Headers = { { ApiKeyAuthenticationHandler.Header, KeyedApi.KeyOf("reader") } } };
        using var stream = await _api.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Idempotency_keys_belong_to_their_caller()
    {
        var key = Guid.NewGuid().ToString();

        var alice = await _api.SendAsync(HttpMethod.Post, "/api/v1/experiments", "alice", KeyedApi.Dag, key);
        var again = await _api.SendAsync(HttpMethod.Post, "/api/v1/experiments", "alice", KeyedApi.Dag, key);
        var bob = await _api.SendAsync(HttpMethod.Post, "/api/v1/experiments", "bob", KeyedApi.Dag.Replace("seed: 3", "seed: 4", StringComparison.Ordinal), key);

        Assert.Equal([HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created], [alice.StatusCode, again.StatusCode, bob.StatusCode]);
        Assert.Equal(alice.Headers.Location, again.Headers.Location);
        Assert.NotEqual(alice.Headers.Location, bob.Headers.Location);
        Assert.Equal("key:bob", (await KeyedApi.JsonAsync(bob))["submittedBy"]!.GetValue<string>());
    }

    [Fact]
    public async Task Only_admin_lists_the_keys_and_never_their_hashes()
    {
        Assert.Equal(HttpStatusCode.Forbidden, (await _api.SendAsync(HttpMethod.Get, "/api/v1/auth/keys", "ops")).StatusCode);

        var keys = (await KeyedApi.JsonAsync(await _api.SendAsync(HttpMethod.Get, "/api/v1/auth/keys", "root"))).AsArray();

        Assert.Equal(["alice", "bob", "ops", "reader", "root"], keys.Select(key => key!["id"]!.GetValue<string>()));
        Assert.DoesNotContain("hash", keys.ToJsonString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Refusals_are_counted_by_reason_on_the_metrics_and_every_reason_is_a_series_from_the_start()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await _api.SendAsync(HttpMethod.Get, "/api/v1/experiments", role: null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _api.SendAsync(HttpMethod.Get, "/api/v1/auth/keys", "reader")).StatusCode);
        var bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + string.Concat(Enumerable.Range(1, 8).Select(level =>
            $"{(char)('a' + level)}: &{(char)('a' + level)} [{string.Join(", ", Enumerable.Repeat($"*{(char)('a' + level - 1)}", 9))}]\n"));
        Assert.Equal(HttpStatusCode.BadRequest, (await _api.SendAsync(HttpMethod.Post, "/api/v1/experiments", "alice", bomb)).StatusCode);

        var metrics = await (await _api.SendAsync(HttpMethod.Get, "/metrics", role: null)).Content.ReadAsStringAsync();
        double Count(string reason) => double.Parse(
            metrics.Split('\n').Single(line => line.StartsWith("orchestrator_api_rejected_total{", StringComparison.Ordinal) && line.Contains($"reason=\"{reason}\"", StringComparison.Ordinal))
                .Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

        // The counters are process-wide and other tests run beside this one, so only lower bounds hold.
        Assert.True(Count(ApiMetrics.Unauthenticated) >= 1);
        Assert.True(Count(ApiMetrics.Forbidden) >= 1);
        Assert.True(Count(ApiMetrics.RateLimited) >= 0);
        Assert.True(Count(ApiMetrics.SpecBudget) >= 1);
    }

    public void Dispose() => _api.Dispose();
}
