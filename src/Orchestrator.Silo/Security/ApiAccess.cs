using System.Net;
using Orchestrator.Silo.Hosting;

namespace Orchestrator.Silo.Security;

/// <summary>
/// Whether the API runs open (no credential needed), decided once at start from <see cref="AuthOptions.Mode"/>, the
/// credentials configured, the orchestrator's mode and the addresses it listens on. A standalone host that only
/// listens on loopback may run open: only its own machine can reach it. Anything else open must be asked for.
/// </summary>
public sealed record ApiAccess(bool Open, string? Refusal)
{
    public static ApiAccess Decide(AuthOptions auth, OrchestratorMode mode, string urls)
    {
        if (auth.Mode == AuthMode.Open)
        {
            return new ApiAccess(true, null);
        }

        if (auth.HasCredentials)
        {
            return new ApiAccess(false, null);
        }

        if (auth.Mode == AuthMode.Required)
        {
            return new ApiAccess(false,
                "Auth:Mode is Required but no credential is configured; set Auth:ApiKeys, Auth:ApiKeysFile or Auth:Jwt:Authority");
        }

        return mode == OrchestratorMode.Standalone && LoopbackOnly(urls)
            ? new ApiAccess(true, null)
            : new ApiAccess(false,
                $"the API would run open to anyone who reaches it ({(mode == OrchestratorMode.Cluster ? "cluster mode" : $"listening on {urls}")}); " +
                "configure Auth:ApiKeys, Auth:ApiKeysFile (e.g. a mounted secret) or Auth:Jwt:Authority, or set Auth:Mode=Open to run without authentication on purpose");
    }

    /// <summary>Whether every URL of <paramref name="urls"/> (';'-separated, as ASP.NET Core takes them) names a loopback host.</summary>
    public static bool LoopbackOnly(string urls) =>
        urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).All(url =>
            Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
            && (uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address))));
}
