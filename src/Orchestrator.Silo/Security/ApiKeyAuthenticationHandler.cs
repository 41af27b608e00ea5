using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Orchestrator.Silo.Security;

/// <summary>Whether requests without a credential pass as <see cref="Callers.Anonymous"/> (an open API).</summary>
public sealed class ApiKeyAuthenticationOptions : AuthenticationSchemeOptions
{
    public bool Open { get; set; }
}

/// <summary>
/// Authenticates an API key sent as <c>X-Api-Key: KEY</c> or <c>Authorization: Bearer KEY</c> (what Prometheus and
/// most HTTP clients can send). An unknown, revoked or expired key is refused with the reason; no key leaves the
/// request unauthenticated, or makes it anonymous with every scope when the API runs open.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<ApiKeyAuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyStore keys, TimeProvider time)
    : AuthenticationHandler<ApiKeyAuthenticationOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string Header = "X-Api-Key";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (PresentedKey(Request) is not { } key)
        {
            return Task.FromResult(Options.Open
                ? Success(Callers.Anonymous, Scopes.All)
                : AuthenticateResult.NoResult());
        }

        if (keys.Find(key) is not { } entry)
        {
            return Task.FromResult(AuthenticateResult.Fail("The API key is not known; check that it was copied whole, or ask an administrator for a key."));
        }

        if (entry.Revoked)
        {
            return Task.FromResult(AuthenticateResult.Fail($"The API key '{entry.Id}' was revoked; ask an administrator for a new key."));
        }

        if (entry.Expires is { } expires && expires <= time.GetUtcNow())
        {
            return Task.FromResult(AuthenticateResult.Fail($"The API key '{entry.Id}' expired at {expires:u}; ask an administrator for a new key."));
        }

        return Task.FromResult(Success(entry.Caller, entry.Scopes));
    }

    /// <summary>The key in <see cref="Header"/>, or a bearer token that is not a JWT (a JWT has three dot-separated parts).</summary>
    public static string? PresentedKey(HttpRequest request)
    {
        if (request.Headers[Header].FirstOrDefault() is { Length: > 0 } header)
        {
            return header.Trim();
        }

        return BearerToken(request) is { } token && !LooksLikeJwt(token) ? token : null;
    }

    public static string? BearerToken(HttpRequest request) =>
        request.Headers.Authorization.FirstOrDefault() is { } authorization
        && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
        && authorization["Bearer ".Length..].Trim() is { Length: > 0 } token
            ? token
            : null;

    public static bool LooksLikeJwt(string token) => token.Count(character => character == '.') == 2;

    private AuthenticateResult Success(string caller, IEnumerable<string> scopes) =>
        AuthenticateResult.Success(new AuthenticationTicket(Callers.Principal(caller, scopes, Scheme.Name), Scheme.Name));
}
