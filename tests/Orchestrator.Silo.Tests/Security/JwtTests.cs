using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Orchestrator.Silo.Tests.Security;

/// <summary>
/// Bearer tokens from an OpenID Connect issuer: the test plays the issuer with a signing key it generates, handed to the
/// host as the issuer's configuration (so nothing is fetched), and tokens it signs map to callers and scopes.
/// </summary>
public sealed class JwtTests : IDisposable
{
    private const string Issuer = "https://issuer.test/realms/ml";
    private const string Audience = "blip-orchestrator";

    private static readonly RsaSecurityKey SigningKey = new(RSA.Create(2048)) { KeyId = "issuer-key" };
    private static readonly RsaSecurityKey OtherKey = new(RSA.Create(2048)) { KeyId = "issuer-key" };

    private readonly OrchestratorFactory _factory;
    private readonly HttpClient _client;

    public JwtTests()
    {
        _factory = new OrchestratorFactory
        {
            ConfigureHost = host => host.ConfigureTestServices(services =>
                services.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, options =>
                {
                    var issuer = new OpenIdConnectConfiguration { Issuer = Issuer };
                    issuer.SigningKeys.Add(SigningKey);
                    options.Configuration = issuer;

                    // The framework's own post-configuration ran first and made a manager that would fetch the issuer's metadata.
                    options.ConfigurationManager = new StaticConfigurationManager<OpenIdConnectConfiguration>(issuer);
                })),
        };
        _factory.Settings["Auth:Jwt:Authority"] = Issuer;
        _factory.Settings["Auth:Jwt:Audience"] = Audience;
        _factory.Settings["Auth:Jwt:ScopePrefix"] = "orchestrator.";
        _client = _factory.CreateClient();
    }

    [Fact]
    public async Task A_token_with_the_submit_scope_submits_as_its_subject()
    {
        var created = await PostAsync(Token("alice", "orchestrator.read orchestrator.submit"));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("oidc:alice", (await KeyedApi.JsonAsync(created))["submittedBy"]!.GetValue<string>());
        using var me = new HttpRequestMessage(HttpMethod.Get, "/api/v1/auth/me") { Headers = { Authorization = KeyedApi.Bearer(Token("alice", "orchestrator.read orchestrator.submit")) } };
        Assert.Equal("""{"caller":"oidc:alice","scopes":["read","submit"]}""", await (await _client.SendAsync(me)).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Scopes_are_taken_only_with_the_configured_prefix()
    {
        var response = await PostAsync(Token("bob", "orchestrator.read submit admin"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.StartsWith("The caller 'oidc:bob' lacks the scope 'submit'", (await KeyedApi.JsonAsync(response))["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Tokens_for_another_audience_expired_signed_by_another_key_or_without_a_subject_are_refused()
    {
        var now = DateTime.UtcNow;
        string[] refused =
        [
            Token("alice", "orchestrator.submit", audience: "someone-else"),
            Token("alice", "orchestrator.submit", expires: now.AddMinutes(-10)),
            Token("alice", "orchestrator.submit", key: OtherKey),
            Token(null, "orchestrator.submit"),
        ];

        foreach (var token in refused)
        {
            var response = await PostAsync(token);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            Assert.Contains(response.Headers.WwwAuthenticate, challenge => challenge.Scheme == "Bearer");
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        _factory.Dispose();
    }

    private static string Token(string? subject, string scopes, string audience = Audience, DateTime? expires = null, SecurityKey? key = null)
    {
        var claims = new List<Claim> { new("scope", scopes) };
        if (subject is not null)
        {
            claims.Add(new Claim("sub", subject));
        }

        var end = expires ?? DateTime.UtcNow.AddMinutes(10);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            Subject = new ClaimsIdentity(claims),
            NotBefore = end.AddMinutes(-20),
            IssuedAt = end.AddMinutes(-20),
            Expires = end,
            SigningCredentials = new SigningCredentials(key ?? SigningKey, SecurityAlgorithms.RsaSha256),
        });
    }

    private async Task<HttpResponseMessage> PostAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/experiments")
        {
            Content = new StringContent(KeyedApi.Dag, Encoding.UTF8, "application/yaml"),
            Headers = { Authorization = KeyedApi.Bearer(token) },
        };
        return await _client.SendAsync(request);
    }
}
