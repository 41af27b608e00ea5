using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Authentication;
using Orchestrator.Silo.Api;

namespace Orchestrator.Silo.Security;

/// <summary>Met when the caller holds one of <see cref="AnyOf"/> (or <see cref="Scopes.Admin"/>).</summary>
public sealed record ScopeRequirement(IReadOnlyList<string> AnyOf) : IAuthorizationRequirement
{
    public string Describe() => string.Join("' or '", AnyOf);
}

/// <summary>Checks <see cref="ScopeRequirement"/> against the caller's scope claims.</summary>
public sealed class ScopeRequirementHandler : AuthorizationHandler<ScopeRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        if (requirement.AnyOf.Any(context.User.HasScope))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// Answers a refused request with problem details that say why and what to do (401 with <c>WWW-Authenticate</c>
/// for a missing or refused credential, 403 naming the scope the endpoint needs), and counts each refusal.
/// </summary>
public sealed class ProblemAuthorizationResultHandler(bool jwt) : IAuthorizationMiddlewareResultHandler
{
    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
        {
            await next(context);
            return;
        }

        ProblemHttpResult problem;
        if (authorizeResult.Challenged)
        {
            ApiMetrics.Rejected(ApiMetrics.Unauthenticated);
            context.Response.Headers.WWWAuthenticate = jwt ? "ApiKey, Bearer" : "ApiKey";
            // The handlers cache their result for the request, so this asks nothing twice.
            var failure = (await context.AuthenticateAsync()).Failure?.Message;
            problem = Problems.Unauthorized(failure ??
                $"This endpoint needs a credential: send an API key in the {ApiKeyAuthenticationHandler.Header} header or as 'Authorization: Bearer KEY'" +
                (jwt ? ", or a bearer token from the configured issuer." : "."));
        }
        else
        {
            ApiMetrics.Rejected(ApiMetrics.Forbidden);
            var needed = authorizeResult.AuthorizationFailure?.FailedRequirements.OfType<ScopeRequirement>().FirstOrDefault();
            problem = Problems.Forbidden(
                $"The caller '{context.User.CallerId()}' lacks the scope '{needed?.Describe() ?? "?"}' that {context.Request.Method} {context.Request.Path} needs; ask an administrator for a key or token with it.");
        }

        await problem.ExecuteAsync(context);
    }
}
