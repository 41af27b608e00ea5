using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Silo.Security;

namespace Orchestrator.Silo.Tests.Security;

/// <summary>
/// A silo host (no worker) whose API keys come from a keys file the test can rewrite, looked at on every request,
/// with a key per role: <c>reader</c> (read), <c>alice</c> and <c>bob</c> (submit), <c>ops</c> (operate, read) and
/// <c>root</c> (admin).
/// </summary>
public sealed class KeyedApi : IDisposable
{
    public const string Dag = """
        name: keyed
        stages:
          - id: data
            kind: dataset.synthetic
            config: { images: 100, seed: 3 }
        """;

    private readonly string _folder = Directory.CreateTempSubdirectory("api-keys-").FullName;
    private readonly OrchestratorFactory _factory;

    public KeyedApi(IReadOnlyDictionary<string, string?>? settings = null)
    {
        WriteKeys(Keys.Select(key => Entry(key.Key, key.Value)));
        _factory = new OrchestratorFactory();
        _factory.Settings["Auth:ApiKeysFile"] = KeysFile;
        _factory.Settings["Auth:KeysFileCheckInterval"] = "00:00:00";
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _factory.Settings[key] = value;
        }

        Client = _factory.CreateClient();
    }

    /// <summary>Each role's key and its scopes.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Keys = new Dictionary<string, string[]>
    {
        ["reader"] = [Scopes.Read],
        ["alice"] = [Scopes.Submit],
        ["bob"] = [Scopes.Submit],
        ["ops"] = [Scopes.Operate, Scopes.Read],
        ["root"] = [Scopes.Admin],
    };

    public HttpClient Client { get; }

    public string KeysFile => Path.Combine(_folder, "keys.json");

    /// <summary>The secret key of a role (deterministic, so a test can name it).</summary>
    public static string KeyOf(string role) => $"bo_test_{role}_0123456789abcdef";

    public static object Entry(string role, string[] scopes, bool revoked = false, DateTimeOffset? expires = null) =>
        new { id = role, hash = ApiKeyEntries.Hash(KeyOf(role)), scopes, revoked, expires };

    public void WriteKeys(IEnumerable<object> entries) => File.WriteAllText(KeysFile, JsonSerializer.Serialize(entries));

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, string? role, string? yaml = null, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (role is not null)
        {
            request.Headers.Add(ApiKeyAuthenticationHandler.Header, KeyOf(role));
        }

        if (yaml is not null)
        {
            request.Content = new StringContent(yaml, Encoding.UTF8, "application/yaml");
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await Client.SendAsync(request);
    }

    /// <summary>Submits <see cref="Dag"/> as <paramref name="role"/> and returns the experiment's id.</summary>
    public async Task<string> SubmitAsync(string role)
    {
        var response = await SendAsync(HttpMethod.Post, "/api/v1/experiments", role, Dag);
        response.EnsureSuccessStatusCode();
        return (await JsonAsync(response))["id"]!.GetValue<string>();
    }

    public static async Task<JsonNode> JsonAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync()) ?? throw new JsonException("empty body");

    public static AuthenticationHeaderValue Bearer(string token) => new("Bearer", token);

    public void Dispose()
    {
        _factory.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
