using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.Silo.Api;

/// <summary>
/// Experiment ids. With an <c>Idempotency-Key</c> the id is derived from the key, so a retried POST reaches
/// the experiment the first one created, even across silos and restarts, with no lookup table to keep.
/// </summary>
internal static partial class ExperimentIds
{
    public const int MaxIdempotencyKeyLength = 200;

    public static string New() => $"exp-{Guid.NewGuid():N}"[..24];

    public static string FromIdempotencyKey(string key) =>
        "exp-k" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..19];

    public static bool IsWellFormed(string id) => Pattern().IsMatch(id);

    [GeneratedRegex("^exp-[a-z0-9]{20}$")]
    private static partial Regex Pattern();
}
