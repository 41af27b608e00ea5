using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Orchestrator.Silo.Security;

/// <summary>Reading, checking and hashing API keys.</summary>
public static class ApiKeyEntries
{
    private static readonly JsonSerializerOptions FileJson = new(JsonSerializerDefaults.Web) { AllowTrailingCommas = true, ReadCommentHandling = JsonCommentHandling.Skip };

    /// <summary>The stored form of a key: its SHA-256, in lower-case hex.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>A new key: 32 random bytes, URL-safe base64, behind a prefix that says what it is.</summary>
    public static string NewKey() => "bo_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>A keys file: a JSON list of entries (names in any case).</summary>
    public static List<ApiKeyEntry> ReadFile(string path) =>
        JsonSerializer.Deserialize<List<ApiKeyEntry>>(File.ReadAllText(path), FileJson)
        ?? throw new JsonException("the file holds null, not a list of keys");

    /// <summary>What is wrong with <paramref name="entries"/>, each problem naming the entry, under <paramref name="source"/>.</summary>
    public static IEnumerable<string> Problems(IReadOnlyList<ApiKeyEntry> entries, string source)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var index = 0; index < entries.Count; index++)
        {
            var entry = entries[index];
            var at = $"{source} entry {index} ('{entry.Id}')";
            if (string.IsNullOrWhiteSpace(entry.Id))
            {
                yield return $"{source} entry {index} has no id; give each key an id that names it in logs, e.g. ci-nightly";
            }
            else if (!ids.Add(entry.Id))
            {
                yield return $"{at}: the id is used twice; give each key its own id";
            }

            if (entry.Hash.Length != 64 || !entry.Hash.All(Uri.IsHexDigit))
            {
                yield return $"{at}: hash must be the SHA-256 of the key as 64 hex digits (apikey create prints it), not the key itself";
            }

            if (entry.Scopes.Count == 0)
            {
                yield return $"{at}: no scopes; give one or more of {string.Join(", ", Scopes.All)}";
            }

            foreach (var scope in entry.Scopes.Where(scope => !Scopes.All.Contains(scope)))
            {
                yield return $"{at}: unknown scope '{scope}'; use {string.Join(", ", Scopes.All)}";
            }
        }
    }
}
