using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Silo.Security;

/// <summary>Who may call the API, bound from section <see cref="Section"/> and checked at start by <see cref="AuthOptionsValidator"/>.</summary>
public sealed record AuthOptions
{
    public const string Section = "Auth";

    public AuthMode Mode { get; init; } = AuthMode.Auto;

    /// <summary>API keys given in configuration, e.g. <c>--Auth:ApiKeys:0:Id=ci --Auth:ApiKeys:0:Hash=... --Auth:ApiKeys:0:Scopes:0=submit</c>.</summary>
    public List<ApiKeyEntry> ApiKeys { get; init; } = [];

    /// <summary>
    /// A JSON file holding a list of <see cref="ApiKeyEntry"/> (a mounted Kubernetes Secret, say), read again when it
    /// changes, so a key can be added, revoked or left to expire without a restart.
    /// </summary>
    public string? ApiKeysFile { get; init; }

    /// <summary>How often <see cref="ApiKeysFile"/> is looked at for changes (only when a request needs a key).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "Auth:KeysFileCheckInterval must be from 0 to 1 hour, e.g. 00:00:05")]
    public TimeSpan KeysFileCheckInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Bearer tokens from an OpenID Connect issuer, as well as or instead of API keys.</summary>
    public JwtSettings Jwt { get; init; } = new();

    /// <summary>Whether <c>/metrics</c> needs the <c>read</c> scope (Prometheus then sends a key as a bearer token); open by default, as in-cluster scrapers expect.</summary>
    public bool ProtectMetrics { get; init; }

    /// <summary>Whether some credential is configured: then every endpoint but the health checks needs one.</summary>
    public bool HasCredentials => ApiKeys.Count > 0 || !string.IsNullOrWhiteSpace(ApiKeysFile) || Jwt.Enabled;
}

/// <summary>Whether the API asks for credentials.</summary>
public enum AuthMode
{
    /// <summary>Credentials when any are configured; without any, open only for a standalone host bound to loopback, and otherwise the host refuses to start.</summary>
    Auto,

    /// <summary>Credentials always; the host refuses to start when none are configured.</summary>
    Required,

    /// <summary>No credentials needed (a presented one still names the caller); the host logs a warning at start.</summary>
    Open,
}

/// <summary>One API key, stored as the SHA-256 of the key (hex) so configuration never holds the key itself.</summary>
public sealed record ApiKeyEntry
{
    /// <summary>Names the key in logs and errors; unique.</summary>
    public string Id { get; init; } = "";

    /// <summary>SHA-256 of the key, 64 hex digits (<c>apikey create</c> prints it).</summary>
    public string Hash { get; init; } = "";

    /// <summary>Of <see cref="Security.Scopes.All"/>.</summary>
    public List<string> Scopes { get; init; } = [];

    /// <summary>The caller the key acts for; its id when empty. Two keys of one owner (a rotation) share its experiments.</summary>
    public string Owner { get; init; } = "";

    /// <summary>After this the key is refused.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>A revoked key is refused (kept listed, so its id stays taken and the revocation is on record).</summary>
    public bool Revoked { get; init; }

    /// <summary>The caller id experiments record for this key.</summary>
    public string Caller => "key:" + (string.IsNullOrWhiteSpace(Owner) ? Id : Owner);
}

/// <summary>JWT bearer tokens from an OpenID Connect issuer, mapped to <see cref="Scopes"/>.</summary>
public sealed record JwtSettings
{
    /// <summary>The issuer's URL; its discovery document gives the signing keys. Empty: no JWT.</summary>
    public string Authority { get; init; } = "";

    /// <summary>The audience tokens must be issued for.</summary>
    public string Audience { get; init; } = "";

    /// <summary>The claim that lists scopes (space-separated or repeated); <c>scp</c> is read too.</summary>
    public string ScopeClaim { get; init; } = "scope";

    /// <summary>Prepended to each scope name in tokens, e.g. <c>orchestrator.</c> for <c>orchestrator.submit</c>.</summary>
    public string ScopePrefix { get; init; } = "";

    /// <summary>The claim that names the caller.</summary>
    public string SubjectClaim { get; init; } = "sub";

    public bool RequireHttpsMetadata { get; init; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);
}
