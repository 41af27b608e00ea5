using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orchestrator.Silo.Api;
using Orchestrator.Silo.Hosting;

namespace Orchestrator.Silo.Security;

/// <summary>
/// Who may call the API and how often: API keys and JWT bearer tokens mapped to <see cref="Scopes"/>, a policy per
/// endpoint, problem details for every refusal, and a token bucket per caller. See docs/decisions/api-security.md.
/// </summary>
public static class SecurityHostingExtensions
{
    /// <summary>The policy names endpoints state; each but <see cref="SubmitOrOperate"/> is a scope.</summary>
    public const string Read = Scopes.Read;
    public const string Submit = Scopes.Submit;
    public const string Admin = Scopes.Admin;

    /// <summary>Cancel, resume and rerun: <c>operate</c>, or <c>submit</c> when the experiment is the caller's own (checked by the endpoint).</summary>
    public const string SubmitOrOperate = "submit-or-operate";

    /// <summary>Chooses the API key or the JWT handler by the credential a request carries.</summary>
    private const string CredentialScheme = "Credential";

    public static WebApplicationBuilder AddOrchestratorSecurity(this WebApplicationBuilder builder, OrchestratorMode mode)
    {
        var auth = builder.Configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
        var access = ApiAccess.Decide(auth, mode, builder.Configuration["urls"] ?? OrchestratorApp.DefaultUrl);
        builder.Services.AddSingleton(access);
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        builder.Services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ApiKeyStore>();

        var authentication = builder.Services.AddAuthentication(CredentialScheme)
            .AddPolicyScheme(CredentialScheme, "An API key or a bearer token", scheme => scheme.ForwardDefaultSelector = context =>
                auth.Jwt.Enabled && ApiKeyAuthenticationHandler.BearerToken(context.Request) is { } token && ApiKeyAuthenticationHandler.LooksLikeJwt(token)
                    ? JwtBearerDefaults.AuthenticationScheme
                    : ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, options => options.Open = access.Open);
        if (auth.Jwt.Enabled)
        {
            authentication.AddJwtBearer(options => JwtCallers.Configure(options, auth.Jwt));
        }

        builder.Services.AddAuthorization(options =>
        {
            foreach (var scope in Scopes.All)
            {
                options.AddPolicy(scope, policy => policy.RequireAuthenticatedUser().AddRequirements(new ScopeRequirement([scope])));
            }

            options.AddPolicy(SubmitOrOperate, policy => policy.RequireAuthenticatedUser().AddRequirements(new ScopeRequirement([Scopes.Operate, Scopes.Submit])));

            // An endpoint that states no policy still needs a caller.
            options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
        });
        builder.Services.AddSingleton<IAuthorizationHandler, ScopeRequirementHandler>();
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler>(new ProblemAuthorizationResultHandler(auth.Jwt.Enabled));
        builder.Services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                var limits = context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value;
                return limits.PermitsPerSecond == 0
                    ? RateLimitPartition.GetNoLimiter("unlimited")
                    : RateLimitPartition.GetTokenBucketLimiter(PartitionKey(context), _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = limits.Burst,
                        TokensPerPeriod = limits.PermitsPerSecond,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    });
            });
            options.OnRejected = RejectAsync;
        });
        return builder;
    }

    /// <summary>Authentication, then the rate limit (so it counts per caller), then each endpoint's policy.</summary>
    public static WebApplication UseOrchestratorSecurity(this WebApplication app)
    {
        // Once the host has started: settings it refuses are then reported first and alone, and the metrics exporter
        // listens, so the zero counts are not recorded into nothing.
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            LogAccess(app.Services);
            ApiMetrics.Initialise();
        });

        app.Services.GetRequiredService<ApiKeyStore>().All();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        return app;
    }

    private static void LogAccess(IServiceProvider services)
    {
        if (!services.GetRequiredService<ApiAccess>().Open)
        {
            return;
        }

        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SecurityHostingExtensions));
        if (services.GetRequiredService<IOptions<AuthOptions>>().Value.Mode == AuthMode.Open)
        {
            logger.LogWarning("Auth:Mode is Open: the API needs no credential, so anyone who reaches it can submit, cancel and rerun experiments");
        }
        else
        {
            logger.LogInformation("The API needs no credential: this standalone host listens on loopback only and no Auth setting is configured");
        }
    }

    /// <summary>An authenticated caller's own bucket; an anonymous one's by its address.</summary>
    private static string PartitionKey(HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true && context.User.CallerId() is var caller && caller != Callers.Anonymous
            ? caller
            : "address:" + context.Connection.RemoteIpAddress;

    private static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        ApiMetrics.Rejected(ApiMetrics.RateLimited);
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        rejected.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await Problems.TooManyRequests(
            $"The caller '{rejected.HttpContext.User.CallerId()}' sent more requests than its rate limit allows (RateLimits:PermitsPerSecond, RateLimits:Burst); nothing was done. Retry after {seconds} s.")
            .ExecuteAsync(rejected.HttpContext);
    }
}
