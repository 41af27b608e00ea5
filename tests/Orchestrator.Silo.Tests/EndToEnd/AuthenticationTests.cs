using System.Net;
using System.Text;
using Orchestrator.Silo.Security;
using Xunit.Abstractions;

namespace Orchestrator.Silo.Tests.EndToEnd;

/// <summary>
/// A cluster-mode silo process with API keys from a mounted keys file: who may do what, as a deployed cluster's users
/// meet it, and a revocation that takes effect when the file changes, without a restart.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class AuthenticationTests(ITestOutputHelper output)
{
    private const string Dag = """
        name: auth-e2e
        stages:
          - id: data
            kind: dataset.synthetic
            config: { images: 100, seed: 3 }
        """;

    [ServerFact(TestServers.Azurite, TestServers.RabbitMq, TestServers.RabbitMqCtl, TestServers.AzuriteBlob)]
    public async Task A_cluster_silo_refuses_missing_and_revoked_keys_and_missing_scopes_and_keeps_health_open()
    {
        await using var e2e = await EndToEndEnvironment.StartAsync(output);
        var (reader, alice, bob) = (ApiKeyEntries.NewKey(), ApiKeyEntries.NewKey(), ApiKeyEntries.NewKey());
        ApiKeyEntry Entry(string id, string key, string scope, bool revoked = false) =>
            new() { Id = id, Hash = ApiKeyEntries.Hash(key), Scopes = [scope], Revoked = revoked };
        e2e.WriteKeys(Entry("reader", reader, Scopes.Read), Entry("alice", alice, Scopes.Submit), Entry("bob", bob, Scopes.Submit));
        var ports = SiloPorts.Free();
        var (_, admin) = await e2e.StartSiloAsync("silo", ports, TimeSpan.FromSeconds(5));
        var anonymous = e2e.Client(ports, apiKey: null).Http;
        var asReader = e2e.Client(ports, reader).Http;
        var asAlice = e2e.Client(ports, alice).Http;
        var asBob = e2e.Client(ports, bob).Http;

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/experiments")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Post(anonymous, "/api/v1/experiments", Dag)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/readyz")).StatusCode);

        var created = await Post(asAlice, "/api/v1/experiments", Dag);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await admin.GetAsync(created.Headers.Location!.OriginalString.Split('/')[^1])).Id;
        Assert.Equal("key:alice", (await admin.GetAsync(id)).SubmittedBy);

        Assert.Equal(HttpStatusCode.OK, (await asReader.GetAsync($"/api/v1/experiments/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(asReader, "/api/v1/experiments", Dag)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(asReader, $"/api/v1/experiments/{id}/cancel")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(asReader, $"/api/v1/experiments/{id}/stages/data/rerun")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Post(asBob, $"/api/v1/experiments/{id}/cancel")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await asAlice.GetAsync($"/api/v1/experiments/{id}/events", HttpCompletionOption.ResponseHeadersRead)).StatusCode);
        using (var events = await asReader.GetAsync($"/api/v1/experiments/{id}/events", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, events.StatusCode);
        }

        e2e.WriteKeys(Entry("reader", reader, Scopes.Read, revoked: true), Entry("alice", alice, Scopes.Submit), Entry("bob", bob, Scopes.Submit));
        e2e.Log("reader's key marked revoked");
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(10);
        HttpStatusCode status;
        while ((status = (await asReader.GetAsync($"/api/v1/experiments/{id}")).StatusCode) == HttpStatusCode.OK && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal(HttpStatusCode.OK, (await Post(asAlice, $"/api/v1/experiments/{id}/cancel")).StatusCode);
        e2e.Passed();
    }

    private static Task<HttpResponseMessage> Post(HttpClient client, string url, string? yaml = null) =>
        client.PostAsync(url, yaml is null ? null : new StringContent(yaml, Encoding.UTF8, "application/yaml"));
}
