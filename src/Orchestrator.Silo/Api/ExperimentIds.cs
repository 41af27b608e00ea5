using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.Silo.Api;

/// <summary>
/// Experiment ids. With an <c>Idempotency-Key</c> the id is derived from the caller and the key, so a retried POST
/// reaches the experiment the first one created, even across silos and restarts, with no lookup table to keep (and
/// so no store of keys to bound), while two callers who happen to pick the same key get experiments of their own.
/// </summary>
internal static partial class ExperimentIds
{
    public const int MaxIdempotencyKeyLength = 200;

    public static string New() => $"exp-{Guid.NewGuid():N}"[..24];

    /// <summary>The id for <paramref name="caller"/>'s key; an anonymous caller's is the key's alone, as it was before callers were known.</summary>
    public static string FromIdempotencyKey(string key, string caller) =>
        "exp-k" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(caller == Security.Callers.Anonymous ? key : $"{caller}\n{key}")))[..19];

    public static bool IsWellFormed(string id) => Pattern().IsMatch(id);

    [GeneratedRegex("^exp-[a-z0-9]{20}$")]
    private static partial Regex Pattern();
}
