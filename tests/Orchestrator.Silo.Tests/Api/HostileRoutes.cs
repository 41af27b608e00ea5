using System.Text;

namespace Orchestrator.Silo.Tests.Api;

/// <summary>
/// Requests to the experiments API's routes with hostile ids, stage ids and query strings: well-formed ids of nothing,
/// ids one character off, path tricks, control characters, long and non-ASCII text, numbers out of range, repeated
/// parameters. No id names an existing experiment, so only a listing may succeed, and nothing may fail the server.
/// </summary>
internal static class HostileRoutes
{
    private const string Base = "/api/v1/experiments";

    private static readonly string[] Ids =
    [
        "exp-00000000000000000000", "exp-kffffffffffffffffff", "exp-0000000000000000000", "exp-000000000000000000000", "EXP-00000000000000000000",
        "exp-0000000000000000000A", "exp-", "", " ", ".", "..", "../..", "%2e%2e", "%2F", "%00", "%ZZ", "a%20b", "null", "undefined", "0", "-1",
        "exp-00000000000000000000\n", "exp-00000000000000000000%0A", "exp-00000000000000000000;x", "exp-00000000000000000000?x=1", "é", "日本", "🚀",
        "'; DROP TABLE experiments; --", "<script>", "${jndi:ldap://x}", "\\", "%5C", "*", "~", "exp-00000000000000000000/../exp-00000000000000000000",
    ];

    private static readonly string[] Values =
    [
        "", " ", "0", "1", "-1", "500", "501", "2147483647", "2147483648", "-2147483649", "99999999999999999999", "1e3", "0x10", " 1", "1 ", "+1",
        "١", "NaN", "null", "running", "Running", "RUNNING", "0", "5", "succeeded", "Pending", "happy", "%00", "%FF", "%E2%82", "é", "a&b=c", "a%26b",
    ];

    public static (HttpMethod Method, string Path) Next(Random random)
    {
        // A NUL in a path never reaches the routes: Kestrel answers 400 itself, and TestServer's client throws instead.
        var id = Text(random, Ids).Replace("%00", "%01", StringComparison.Ordinal);
        var stage = Text(random, ["pretrain", "", "..", "nothere", new string('s', 300)]).Replace("%00", "%01", StringComparison.Ordinal);
        return random.Next(9) switch
        {
            0 => (HttpMethod.Get, $"{Base}/{id}"),
            1 => (HttpMethod.Get, $"{Base}/{id}/lineage"),
            2 => (HttpMethod.Post, $"{Base}/{id}/cancel"),
            3 => (HttpMethod.Post, $"{Base}/{id}/resume"),
            4 => (HttpMethod.Post, $"{Base}/{id}/stages/{stage}/rerun"),
            5 => (HttpMethod.Get, $"{Base}/{(id.StartsWith("exp-", StringComparison.Ordinal) ? "not-" + id : id)}/events"),
            6 => (random.Next(2) == 0 ? HttpMethod.Delete : HttpMethod.Put, $"{Base}/{id}"),
            _ => (HttpMethod.Get, $"{Base}?{Query(random)}"),
        };
    }

    /// <summary>A value from <paramref name="catalog"/>, sometimes changed, escaped or not, or random text.</summary>
    private static string Text(Random random, string[] catalog)
    {
        var text = random.Next(5) switch
        {
            0 => RandomText(random),
            1 => new string('x', random.Next(200, 20_000)),
            _ => catalog[random.Next(catalog.Length)],
        };
        if (random.Next(4) == 0 && text.Length > 0)
        {
            text = text.Remove(random.Next(text.Length), 1).Insert(random.Next(text.Length), ((char)random.Next(32, 127)).ToString());
        }

        // Mostly escaped as a client would; sometimes as written, when that still makes a URI.
        return random.Next(3) == 0 && Uri.IsWellFormedUriString($"http://h{Base}/{text}", UriKind.Absolute) ? text : Uri.EscapeDataString(text);
    }

    private static string Query(Random random)
    {
        var query = new StringBuilder();
        for (var count = random.Next(0, 5); count > 0; count--)
        {
            var name = new[] { "status", "offset", "limit", "status", "limit", "other", "" }[random.Next(7)];
            query.Append(query.Length == 0 ? "" : "&").Append(name).Append('=').Append(Text(random, Values));
        }

        return query.ToString();
    }

    private static string RandomText(Random random)
    {
        var text = new StringBuilder();
        for (var length = random.Next(1, 40); length > 0; length--)
        {
            text.Append(random.Next(4) switch
            {
                0 => (char)random.Next(0, 32),
                1 => (char)random.Next(0x80, 0xD7FF),
                _ => (char)random.Next(32, 127),
            });
        }

        return text.ToString();
    }
}
