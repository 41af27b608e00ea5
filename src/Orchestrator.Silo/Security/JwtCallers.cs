using Microsoft.AspNetCore.Authentication.JwtBearer;

namespace Orchestrator.Silo.Security;

/// <summary>JWT bearer tokens as callers: the subject names the caller (<c>oidc:SUBJECT</c>), the scope claims give its <see cref="Scopes"/>.</summary>
public static class JwtCallers
{
    public static void Configure(JwtBearerOptions options, JwtSettings settings)
    {
        options.Authority = settings.Authority;
        options.Audience = settings.Audience;
        options.RequireHttpsMetadata = settings.RequireHttpsMetadata;
        options.MapInboundClaims = false;
        options.Events = new JwtBearerEvents
        {
            OnTokenValidated = context =>
            {
                var principal = context.Principal!;
                if (principal.FindFirst(settings.SubjectClaim)?.Value is not { Length: > 0 } subject)
                {
                    context.Fail($"The token has no '{settings.SubjectClaim}' claim to name the caller (Auth:Jwt:SubjectClaim).");
                    return Task.CompletedTask;
                }

                var scopes = principal.Claims
                    .Where(claim => claim.Type == settings.ScopeClaim || claim.Type == "scp")
                    .SelectMany(claim => claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    .Where(scope => scope.StartsWith(settings.ScopePrefix, StringComparison.Ordinal))
                    .Select(scope => scope[settings.ScopePrefix.Length..])
                    .Where(Scopes.All.Contains);
                context.Principal = Callers.Principal("oidc:" + subject, scopes, JwtBearerDefaults.AuthenticationScheme);
                return Task.CompletedTask;
            },
        };
    }
}
