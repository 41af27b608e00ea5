using System.Security.Claims;
using Orchestrator.Silo.Security;

namespace Orchestrator.Silo.Api;

/// <summary><c>/api/v1/auth</c>: who the caller is, and (for administrators) which API keys are in force.</summary>
public static class AuthApi
{
    public static IEndpointRouteBuilder MapAuthApiV1(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/auth").WithTags("Authentication");
        api.MapGet("/me", (ClaimsPrincipal user) => TypedResults.Ok(new CallerView(user.CallerId(), [.. Scopes.All.Where(user.HasScope)])))
            .WithSummary("The caller this request authenticated as, and the scopes it holds. Needs any credential.");
        api.MapGet("/keys", (ApiKeyStore keys) => TypedResults.Ok(keys.All().Select(key => new ApiKeyView(key.Id, key.Caller, key.Scopes, key.Expires, key.Revoked)).ToList()))
            .RequireAuthorization(SecurityHostingExtensions.Admin)
            .WithSummary("The API keys in force, without their hashes. Needs 'admin'.");
        return app;
    }
}

/// <summary>A caller and its scopes.</summary>
public sealed record CallerView(string Caller, List<string> Scopes);

/// <summary>An API key as administrators see it.</summary>
public sealed record ApiKeyView(string Id, string Caller, List<string> Scopes, DateTimeOffset? Expires, bool Revoked);
