using System.Security.Claims;

namespace Orchestrator.Silo.Security;

/// <summary>The caller of a request, as the authentication handlers describe it in claims of their own.</summary>
public static class Callers
{
    /// <summary>The claim holding the caller's id (<c>key:alice</c>, <c>oidc:subject</c>, <c>anonymous</c>).</summary>
    public const string CallerClaim = "orchestrator/caller";

    /// <summary>A claim per scope the caller holds.</summary>
    public const string ScopeClaim = "orchestrator/scope";

    /// <summary>Whoever calls an open API without a credential; holds every scope.</summary>
    public const string Anonymous = "anonymous";

    /// <summary>Whoever submits through the command line (<c>--run</c>) in the host's own process.</summary>
    public const string Local = "local";

    public static ClaimsPrincipal Principal(string caller, IEnumerable<string> scopes, string scheme) =>
        new(new ClaimsIdentity([new Claim(CallerClaim, caller), .. scopes.Distinct().Select(scope => new Claim(ScopeClaim, scope))], scheme, CallerClaim, null));

    public static string CallerId(this ClaimsPrincipal user) => user.FindFirstValue(CallerClaim) ?? Anonymous;

    /// <summary>Whether the caller holds <paramref name="scope"/>, directly or through <see cref="Scopes.Admin"/>.</summary>
    public static bool HasScope(this ClaimsPrincipal user, string scope) =>
        user.HasClaim(ScopeClaim, scope) || user.HasClaim(ScopeClaim, Scopes.Admin);
}
