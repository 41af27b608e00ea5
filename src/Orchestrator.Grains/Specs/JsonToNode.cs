using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Grains.Specs;

/// <summary>
/// Parses a JSON spec into a tree within the same <see cref="ParseBudget"/> as YAML: a first pass with
/// <see cref="Utf8JsonReader"/> counts every node, level and string against the limits, and refuses duplicate keys and
/// strings that are not text, before <see cref="JsonNode.Parse(ReadOnlySpan{byte}, JsonNodeOptions?, JsonDocumentOptions)"/> builds anything.
/// </summary>
/// <remarks>
/// JSON has no aliases, so its cost is its length; the pass is there so both formats stop at the same limits with the
/// same errors, and so that what the tree would throw on later (a key given twice, an escaped lone surrogate) is an
/// error of the spec instead of an exception in whoever reads the value.
/// </remarks>
internal sealed class JsonToNode(ParseBudget budget) : ISpecPosition
{
    private readonly List<Level> _open = [];

    public static JsonNode? Parse(string json, ParseBudget budget)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        new JsonToNode(budget).Count(bytes);
        return JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions
        {
            CommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            MaxDepth = budget.Limits.MaxDepth,
        });
    }

    /// <inheritdoc/>
    public string Path => string.Concat(_open.Select(level => level.Segment)) + ChildSegment();

    private void Count(ReadOnlySpan<byte> json)
    {
        // One level more than the budget allows, so that the budget, not the reader, reports the level too many.
        var reader = new Utf8JsonReader(json, new JsonReaderOptions
        {
            CommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            MaxDepth = budget.Limits.MaxDepth + 1,
        });
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    budget.AddCollection(_open.Count + 1, this);
                    _open.Add(new Level(reader.TokenType == JsonTokenType.StartObject, ChildSegment()));
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    _open.RemoveAt(_open.Count - 1);
                    ValueRead();
                    break;
                case JsonTokenType.PropertyName:
                    var key = Text(ref reader);
                    var level = _open[^1];
                    if (!(level.Keys ??= new HashSet<string>(StringComparer.Ordinal)).Add(key))
                    {
                        throw new SpecFormatException($"the key '{(key.Length <= 80 ? key : key[..80] + "...")}' is given twice in the object at '{Path}'; keep one of them");
                    }

                    level.Key = key;
                    break;
                case JsonTokenType.String:
                    Text(ref reader);
                    ValueRead();
                    break;
                default:
                    // Numbers, true, false and null: their length is bounded like a string's.
                    budget.AddScalar(reader.ValueSpan.Length, this);
                    ValueRead();
                    break;
            }
        }
    }

    /// <summary>Counts a string or key by its unescaped length and returns its text.</summary>
    private string Text(ref Utf8JsonReader reader)
    {
        string text;
        try
        {
            text = reader.GetString()!;
        }
        catch (InvalidOperationException exception)
        {
            throw new SpecFormatException($"the string at '{Path}' is not text ({exception.Message}); remove the lone \\uD800-\\uDFFF escape");
        }

        budget.AddScalar(text.Length, this);
        return text;
    }

    private void ValueRead()
    {
        if (_open.Count > 0)
        {
            var level = _open[^1];
            level.Key = null;
            level.Index++;
        }
    }

    private string ChildSegment() => _open.Count == 0 ? "" : _open[^1] switch
    {
        { IsObject: true, Key: { } key } => $"/{key}",
        { IsObject: true } => "",
        var list => $"/{list.Index}",
    };

    /// <summary>An object or array whose end has not been read yet.</summary>
    private sealed class Level(bool isObject, string segment)
    {
        public bool IsObject { get; } = isObject;

        public string Segment { get; } = segment;

        public string? Key { get; set; }

        public int Index { get; set; }

        /// <summary>The keys of an object read so far, to refuse one given twice.</summary>
        public HashSet<string>? Keys { get; set; }
    }
}
