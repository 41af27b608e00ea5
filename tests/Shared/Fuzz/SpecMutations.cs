using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Grains.Specs;

namespace Orchestrator.Testing.Fuzz;

/// <summary>
/// Mutations of the seed corpus: random edits of the text (YAML or JSON), values replaced by values of the wrong type,
/// out of range or unknown, keys given twice, and (for the API) bytes that are not UTF-8.
/// </summary>
internal static class SpecMutations
{
    /// <summary>Fragments that mean something to a YAML or JSON reader, inserted at random places.</summary>
    private static readonly string[] Tokens =
    [
        "&a ", "*a", "*b", "&a [*a]", "<<: ", "<<: *a\n", "[", "]", "{", "}", ": ", "- ", "---\n", "...\n", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n",
        "!!str ", "!!binary ", "!!int ", "!custom ", "? ", "\t", "\"", "'", "|", ">", "#", "\0", "\uFEFF", "\uD800", "\uDFFF", "\u2028", "\r", "\r\n",
        ",", "@", "`", "%", "\\", "\\u0000", "\\uD800", "\\", "1e400", "-1e400", "99999999999999999999999", "2147483648", "-9223372036854775809",
        "NaN", ".inf", "-.inf", "0x7fffffff", "0o17", "1_000", "~", "null", "true", "[[[[[[[[[[", "{a: {a: {a: ", "\"\\", "\n  - ", "\n    ",
    ];

    /// <summary>Values of the wrong type, out of range or otherwise hostile, as JSON text.</summary>
    private static readonly string[] HostileValues =
    [
        "1e400", "-1e400", "1e-400", "99999999999999999999999999", "2147483648", "-2147483649", "9223372036854775808", "-0", "0.1e-320",
        "1.7976931348623157e308", "4.9e-324", "0", "-1", "3.5", "true", "false", "null", "[]", "{}", "[1, [2, [3]]]", "{\"a\": {\"b\": null}}",
        "\"\"", "\" \"", "\"\\u0000\"", "\"\\uD800\"", "\"\\uDC00x\"", "\"\\uFEFF\"", "\"é\"", "\"日本\"", "\"🚀\"", "\"\\u202E\"", "\"1e300s\"", "\"9999999999999999d\"",
        "\"-5s\"", "\"0s\"", "\"NaN\"", "\"Infinity\"", "\"1e400\"", "\"cuda\"", "\"CPU\"", "\"tpu\"", "\"a.b.c\"", "\"..\"", "\"/etc/passwd\"", "\"data.web\"",
        "[\"data.web\", 3]", "\"tiny\"", "\"huge\"", "\"exp-00000000000000000000\"",
    ];

    public static FuzzInput MutateText(Random random, IReadOnlyList<SeedSpec> seeds)
    {
        var seed = seeds[random.Next(seeds.Count)];
        var format = random.Next(3) == 0 ? SpecFormat.Json : SpecFormat.Yaml;
        var text = new StringBuilder(format == SpecFormat.Json ? SpecRendering.Json(seed.Tree) : random.Next(2) == 0 ? seed.Yaml : SpecRendering.Yaml(seed.Tree));
        var edits = random.Next(1, 9);
        for (var edit = 0; edit < edits && text.Length > 0; edit++)
        {
            var at = random.Next(text.Length);
            var length = Math.Min(random.Next(1, 40), text.Length - at);
            switch (random.Next(8))
            {
                case 0:
                    text[at] = (char)random.Next(0, 128);
                    break;
                case 1:
                    text.Insert(at, Tokens[random.Next(Tokens.Length)]);
                    break;
                case 2:
                    text.Remove(at, length);
                    break;
                case 3:
                    text.Insert(at, text.ToString(at, length));
                    break;
                case 4:
                    var other = seeds[random.Next(seeds.Count)].Yaml;
                    var from = random.Next(other.Length);
                    text.Insert(at, other.AsSpan(from, Math.Min(random.Next(1, 200), other.Length - from)));
                    break;
                case 5:
                    text.Length = at;
                    break;
                case 6:
                    text[at] = (char)random.Next(0x80, 0x3000);
                    break;
                default:
                    var line = text.ToString().Split('\n') is var lines && lines.Length > 1 ? lines[random.Next(lines.Length)] : "";
                    text.Insert(at, line + "\n");
                    break;
            }
        }

        return new($"{edits} text edits of {seed.Name} as {format}", format, text.ToString());
    }

    /// <summary>One or more values of a seed replaced, removed, renamed or added, then written as YAML or JSON.</summary>
    public static FuzzInput ReplaceValues(Random random, IReadOnlyList<SeedSpec> seeds)
    {
        var seed = seeds[random.Next(seeds.Count)];
        var tree = seed.Tree.DeepClone().AsObject();
        var changes = new List<string>();
        var hostiles = new List<string>();
        var duplicate = default(JsonObject);
        for (var change = random.Next(1, 5); change > 0; change--)
        {
            var nodes = Nodes(tree);
            if (nodes.Count == 0)
            {
                break;
            }

            var (parent, key, index) = nodes[random.Next(nodes.Count)];
            var hostile = HostileValues[random.Next(HostileValues.Length)];

            // A placeholder goes in the tree and the value's own text replaces it once written: the tree could not
            // hold some of these values (a lone surrogate) as they are written.
            JsonNode Placeholder()
            {
                hostiles.Add(hostile);
                return JsonValue.Create($"@@hostile{hostiles.Count - 1}@@");
            }

            switch (random.Next(6))
            {
                case 0 when parent is JsonObject map:
                    map.Remove(key!);
                    changes.Add($"removed {key}");
                    break;
                case 1 when parent is JsonObject map:
                    var unknown = $"unknown_{random.Next(1000)}";
                    map[unknown] = Placeholder();
                    changes.Add($"added {unknown}: {hostile}");
                    break;
                case 2 when parent is JsonObject map:
                    duplicate = map;
                    changes.Add("duplicated a key");
                    break;
                default:
                    if (parent is JsonObject target)
                    {
                        target[key!] = Placeholder();
                    }
                    else
                    {
                        parent.AsArray()[index] = Placeholder();
                    }

                    changes.Add($"{key ?? index.ToString()} = {hostile}");
                    break;
            }
        }

        var format = random.Next(2) == 0 ? SpecFormat.Json : SpecFormat.Yaml;
        var text = format == SpecFormat.Json ? SpecRendering.Json(tree, duplicate) : SpecRendering.Yaml(tree, duplicate);
        for (var index = 0; index < hostiles.Count; index++)
        {
            text = text.Replace($"\"@@hostile{index}@@\"", hostiles[index], StringComparison.Ordinal);
        }

        return new($"{seed.Name} as {format}: {string.Join("; ", changes)}", format, text);
    }

    /// <summary>The body's UTF-8 with bytes that no UTF-8 decoder accepts, or the whole body in another encoding.</summary>
    public static FuzzInput BreakEncoding(Random random, FuzzInput input)
    {
        byte[][] invalid = [[0xFF], [0xC0, 0x80], [0x80], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xF0, 0x9F, 0x9A], [0xFE, 0xFF]];
        var kind = random.Next(3);
        var body = kind switch
        {
            0 => Encoding.Unicode.GetBytes(input.Text),
            1 => [0xEF, 0xBB, 0xBF, .. input.Body],
            _ => Insert(random, input.Body, invalid[random.Next(invalid.Length)]),
        };
        return input with { Description = $"{input.Description}, encoding broken ({kind})", Bytes = body };
    }

    private static byte[] Insert(Random random, byte[] body, byte[] bytes)
    {
        var at = random.Next(body.Length + 1);
        return [.. body.AsSpan(0, at), .. bytes, .. body.AsSpan(at)];
    }

    /// <summary>Every node below the root with its parent and its key or index, found without recursion.</summary>
    private static List<(JsonNode Parent, string? Key, int Index)> Nodes(JsonObject root)
    {
        var found = new List<(JsonNode, string?, int)>();
        var pending = new Stack<JsonNode>([root]);
        while (pending.TryPop(out var node))
        {
            if (node is JsonObject map)
            {
                foreach (var (key, value) in map)
                {
                    found.Add((map, key, -1));
                    if (value is not null)
                    {
                        pending.Push(value);
                    }
                }
            }
            else if (node is JsonArray list)
            {
                for (var index = 0; index < list.Count; index++)
                {
                    found.Add((list, null, index));
                    if (list[index] is { } item)
                    {
                        pending.Push(item);
                    }
                }
            }
        }

        return found;
    }
}
