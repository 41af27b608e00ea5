using System.CommandLine;
using System.Text.Json;
using Orchestrator.Silo.Security;

namespace Orchestrator.Silo.Cli;

/// <summary>
/// <c>apikey create --id ID --scopes read,submit</c>: makes a new API key and prints, as one JSON object, the key
/// itself (shown once; hand it to the caller) and the entry to add to <c>Auth:ApiKeysFile</c> or <c>Auth:ApiKeys</c>,
/// which holds only the key's hash.
/// </summary>
internal static class ApiKeyCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault };

    public static Command Create()
    {
        var id = new Option<string>("--id") { Description = "Names the key in logs and errors, e.g. ci-nightly.", Required = true };
        var scopes = new Option<string>("--scopes") { Description = $"Comma-separated, of: {string.Join(", ", Scopes.All)}.", Required = true };
        var owner = new Option<string?>("--owner") { Description = "The caller the key acts for, when several keys share one (a rotation); the id by default." };
        var expires = new Option<DateTimeOffset?>("--expires") { Description = "When the key stops working, e.g. 2027-06-30T00:00:00Z." };
        var create = new Command("create", "Make a new key; print it once with the entry (its hash) for the keys file.") { id, scopes, owner, expires };
        create.SetAction(parse =>
        {
            var entry = new ApiKeyEntry
            {
                Id = parse.GetValue(id)!,
                Scopes = [.. parse.GetValue(scopes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
                Owner = parse.GetValue(owner) ?? "",
                Expires = parse.GetValue(expires),
            };
            var key = ApiKeyEntries.NewKey();
            entry = entry with { Hash = ApiKeyEntries.Hash(key) };
            var problems = ApiKeyEntries.Problems([entry], "the new key").ToList();
            if (problems.Count > 0)
            {
                Console.Error.WriteLine(string.Join('\n', problems));
                return 2;
            }

            Console.WriteLine(JsonSerializer.Serialize(new { key, entry }, Json));
            return 0;
        });
        return new Command("apikey", "Manage API keys for the HTTP API (docs/decisions/api-security.md).") { create };
    }
}
