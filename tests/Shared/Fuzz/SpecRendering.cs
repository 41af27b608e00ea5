using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Testing.Fuzz;

/// <summary>Writes a JSON tree back out as JSON or block-style YAML, optionally with one key given twice.</summary>
internal static class SpecRendering
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>JSON text; the first key of <paramref name="duplicateIn"/> (an object in the tree) is written twice.</summary>
    public static string Json(JsonNode? node, JsonObject? duplicateIn = null)
    {
        var text = new StringBuilder();
        WriteJson(node, duplicateIn, text);
        return text.ToString();
    }

    /// <summary>Block-style YAML; strings are double-quoted with JSON's escapes, which YAML's double-quoted style shares.</summary>
    public static string Yaml(JsonNode? node, JsonObject? duplicateIn = null)
    {
        var text = new StringBuilder();
        if (node is JsonObject or JsonArray && Count(node) > 0)
        {
            WriteYamlBlock(node, duplicateIn, 0, text);
        }
        else
        {
            text.Append(Scalar(node)).Append('\n');
        }

        return text.ToString();
    }

    private static void WriteJson(JsonNode? node, JsonObject? duplicateIn, StringBuilder text)
    {
        switch (node)
        {
            case JsonObject map:
                text.Append('{');
                var first = true;
                foreach (var (key, value) in Entries(map, duplicateIn))
                {
                    text.Append(first ? "" : ",").Append(Quote(key)).Append(':');
                    WriteJson(value, duplicateIn, text);
                    first = false;
                }

                text.Append('}');
                break;
            case JsonArray list:
                text.Append('[');
                for (var index = 0; index < list.Count; index++)
                {
                    text.Append(index == 0 ? "" : ",");
                    WriteJson(list[index], duplicateIn, text);
                }

                text.Append(']');
                break;
            default:
                text.Append(Scalar(node));
                break;
        }
    }

    private static void WriteYamlBlock(JsonNode node, JsonObject? duplicateIn, int indent, StringBuilder text)
    {
        var pad = new string(' ', indent);
        IEnumerable<(string? Key, JsonNode? Value)> items = node is JsonObject map
            ? Entries(map, duplicateIn).Select(pair => ((string?)pair.Key, pair.Value))
            : node.AsArray().Select(item => ((string?)null, item));
        foreach (var (key, value) in items)
        {
            text.Append(pad).Append(key is null ? "- " : Quote(key) + ":");
            if (value is JsonObject or JsonArray && Count(value) > 0)
            {
                text.Append('\n');
                WriteYamlBlock(value, duplicateIn, indent + 2, text);
            }
            else
            {
                text.Append(key is null ? "" : " ").Append(Scalar(value)).Append('\n');
            }
        }
    }

    private static IEnumerable<KeyValuePair<string, JsonNode?>> Entries(JsonObject map, JsonObject? duplicateIn)
    {
        var entries = map.ToList();
        return ReferenceEquals(map, duplicateIn) && entries.Count > 0 ? [entries[0], .. entries] : entries;
    }

    private static int Count(JsonNode node) => node is JsonObject map ? map.Count : node.AsArray().Count;

    private static string Scalar(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "{}",
        JsonArray => "[]",
        // A JSON scalar is a YAML flow scalar too; strings parsed from JSON keep their escapes (even a lone surrogate).
        _ => node.ToJsonString(),
    };

    private static string Quote(string text) => JsonSerializer.Serialize(text, Relaxed);
}
