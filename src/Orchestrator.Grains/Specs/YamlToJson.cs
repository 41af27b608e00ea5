using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Orchestrator.Grains.Specs;

/// <summary>
/// Turns a YAML document into the JSON tree a JSON spec would give, so both formats go through one reader.
/// Scalars are typed by <see cref="YamlScalars"/>.
/// </summary>
/// <remarks>
/// It reads YamlDotNet's event stream and builds the tree with a stack of open collections, never by recursion, and
/// counts every node against a <see cref="ParseBudget"/> before building it. YamlDotNet's representation model, used
/// before, shares an aliased node among its aliases; converting that graph to a tree copied every alias expansion, so
/// 500 bytes of nested aliases asked for gigabytes (issue 21). Here an alias's whole cost (its anchored node's count,
/// text and height) is charged before it is copied. Duplicate keys are refused, as the representation model refused
/// them. Merge keys (<c>&lt;&lt;: *base</c>, <c>&lt;&lt;: [*a, *b]</c>) are supported, within the same budget: keys
/// written in the mapping win, then earlier merged mappings win over later ones, as YAML's merge-key type says.
/// </remarks>
internal sealed class YamlToJson(ParseBudget budget) : ISpecPosition
{
    private const string MergeTag = "tag:yaml.org,2002:merge";

    private readonly List<OpenCollection> _open = [];
    private readonly Dictionary<string, Anchored> _anchors = new(StringComparer.Ordinal);
    private readonly HashSet<string> _anchorsBeingBuilt = new(StringComparer.Ordinal);
    private JsonNode? _root;

    public static JsonNode? Convert(string yaml, ParseBudget budget)
    {
        var converter = new YamlToJson(budget);
        var parser = new Parser(new StringReader(yaml));
        var documents = 0;
        while (MoveNext(parser))
        {
            switch (parser.Current)
            {
                case DocumentStart when ++documents > 1:
                    throw new SpecFormatException("the YAML holds several documents; submit one experiment per request");
                case Scalar scalar:
                    converter.Add(scalar);
                    break;
                case AnchorAlias alias:
                    converter.Add(alias);
                    break;
                case MappingStart mapping:
                    converter.Open(new JsonObject(), mapping.Anchor, mapping.Start);
                    break;
                case SequenceStart sequence:
                    converter.Open(new JsonArray(), sequence.Anchor, sequence.Start);
                    break;
                case MappingEnd or SequenceEnd:
                    converter.Close();
                    break;
            }
        }

        return converter._root;
    }

    /// <summary>
    /// The next event; YamlDotNet's scanner throws <see cref="InvalidOperationException"/> instead of a
    /// <see cref="YamlException"/> on some broken text, e.g. <c>x: [a</c> and <c>b</c> on the next line
    /// (aaubry/YamlDotNet#541), which is the user's syntax error all the same.
    /// </summary>
    private static bool MoveNext(Parser parser)
    {
        try
        {
            return parser.MoveNext();
        }
        catch (InvalidOperationException)
        {
            var after = parser.Current?.End ?? Mark.Empty;
            throw new SpecFormatException($"the text after line {after.Line}, column {after.Column} cannot be read as YAML; look for an unclosed '[' or '{{' or a broken line there");
        }
    }

    /// <inheritdoc/>
    public string Path => string.Concat(_open.Select(collection => collection.Segment)) + ChildSegment();

    private OpenCollection? Top => _open.Count == 0 ? null : _open[^1];

    private bool ExpectsKey => Top is { Map: not null, Key: null };

    private void Add(Scalar scalar)
    {
        budget.AddScalar(scalar.Value.Length, this);
        var value = YamlScalars.Convert(scalar.Value, scalar.Style);
        Remember(scalar.Anchor, new Anchored(value, scalar.Value, Nodes: 1, scalar.Value.Length, Height: 0));
        if (ExpectsKey)
        {
            SetKey(scalar.Value, IsMergeKey(scalar), scalar.Start.Line);
        }
        else
        {
            Attach(value, height: 0, scalar.Start.Line);
        }
    }

    private void Add(AnchorAlias alias)
    {
        var name = alias.Value.Value;
        var line = alias.Start.Line;
        if (!_anchors.TryGetValue(name, out var anchored))
        {
            throw new SpecFormatException(_anchorsBeingBuilt.Contains(name)
                ? $"the alias *{name} at line {line} is inside the node anchored &{name}, so it would repeat forever; refer to a node defined before it"
                : $"the alias *{name} at line {line} refers to no anchor &{name} before it; put &{name} on a node above it, or fix the name");
        }

        if (ExpectsKey)
        {
            var key = anchored.Text ?? throw NotPlainKey(line);
            budget.AddCopy(1, key.Length, 0, _open.Count, line, this);
            SetKey(key, isMerge: false, line);
            return;
        }

        budget.AddCopy(anchored.Nodes, anchored.Characters, anchored.Height, _open.Count, line, this);
        Attach(anchored.Node?.DeepClone(), anchored.Height, line);
    }

    private void Open(JsonNode container, AnchorName anchor, Mark start)
    {
        if (ExpectsKey)
        {
            throw NotPlainKey(start.Line);
        }

        budget.AddCollection(_open.Count + 1, this);
        if (!anchor.IsEmpty)
        {
            // A node's own anchor is not defined until the node is complete: an alias inside it is a cycle.
            _anchors.Remove(anchor.Value);
            _anchorsBeingBuilt.Add(anchor.Value);
        }

        _open.Add(new OpenCollection(container, anchor, ChildSegment(), start.Line, budget.Nodes - 1, budget.Characters));
    }

    private void Close()
    {
        var closed = Top!;
        _open.RemoveAt(_open.Count - 1);
        if (closed is { Map: { } map, MergeSources: { } sources })
        {
            foreach (var (key, value) in sources.SelectMany(source => source))
            {
                if (!map.ContainsKey(key))
                {
                    // Copied, not moved: a merged mapping may be anchored and aliased again later.
                    map[key] = value?.DeepClone();
                }
            }
        }

        if (!closed.Anchor.IsEmpty)
        {
            _anchorsBeingBuilt.Remove(closed.Anchor.Value);
        }

        Remember(closed.Anchor, new Anchored(closed.Container, Text: null, budget.Nodes - closed.FirstNode, budget.Characters - closed.FirstCharacter, closed.Height));
        Attach(closed.Container, closed.Height, closed.Line);
    }

    private void SetKey(string key, bool isMerge, long line)
    {
        var mapping = Top!;
        if (isMerge ? mapping.MergeSources is not null : mapping.Map!.ContainsKey(key))
        {
            throw new SpecFormatException($"the key '{Shorten(key)}' at line {line} is given already in the mapping that starts at line {mapping.Line}; keep one of them");
        }

        mapping.Key = key;
        mapping.KeyIsMerge = isMerge;
    }

    private void Attach(JsonNode? node, int height, long line)
    {
        if (Top is not { } parent)
        {
            _root = node;
            return;
        }

        parent.Height = Math.Max(parent.Height, height + 1);
        if (parent.List is { } list)
        {
            list.Add(node);
        }
        else if (parent.KeyIsMerge)
        {
            parent.MergeSources = node switch
            {
                JsonObject mapping => [mapping],
                JsonArray mappings when mappings.All(item => item is JsonObject) => [.. mappings.Cast<JsonObject>()],
                _ => throw new SpecFormatException($"the merge key '<<' at line {line} takes a mapping or a list of mappings, e.g. '<<: *defaults', but has {SpecFields.Describe(node)}"),
            };
        }
        else
        {
            parent.Map![parent.Key!] = node;
        }

        parent.Key = null;
        parent.KeyIsMerge = false;
    }

    private void Remember(AnchorName anchor, Anchored anchored)
    {
        if (!anchor.IsEmpty)
        {
            _anchors[anchor.Value] = anchored;
        }
    }

    /// <summary>The path segment of the node about to be built inside the innermost open collection.</summary>
    private string ChildSegment() => Top switch
    {
        null => "",
        { List: { } list } => $"/{list.Count}",
        { Key: { } key } => $"/{key}",
        _ => "",
    };

    private static bool IsMergeKey(Scalar scalar) =>
        scalar is { Value: "<<", Style: ScalarStyle.Plain } && (scalar.Tag.IsEmpty || scalar.Tag.IsNonSpecific || scalar.Tag.Value == MergeTag);

    private static SpecFormatException NotPlainKey(long line) =>
        new($"a mapping key at line {line} is not a plain value; write keys as names");

    private static string Shorten(string text) => text.Length <= 80 ? text : $"{text[..80]}...";

    /// <summary>
    /// An anchored node and what copying it costs: its <paramref name="Nodes"/>, <paramref name="Characters"/> and
    /// <paramref name="Height"/> (levels of nesting; 0 for a scalar), and a scalar's <paramref name="Text"/> for use as a key.
    /// </summary>
    private sealed record Anchored(JsonNode? Node, string? Text, int Nodes, long Characters, int Height);

    /// <summary>A mapping or list whose end has not been read yet.</summary>
    private sealed class OpenCollection(JsonNode container, AnchorName anchor, string segment, long line, int firstNode, long firstCharacter)
    {
        public JsonNode Container { get; } = container;

        public JsonObject? Map { get; } = container as JsonObject;

        public JsonArray? List { get; } = container as JsonArray;

        public AnchorName Anchor { get; } = anchor;

        /// <summary>This collection's own path segment inside its parent, e.g. <c>/stages</c> or <c>/3</c>.</summary>
        public string Segment { get; } = segment;

        public long Line { get; } = line;

        /// <summary>The budget's node count when this collection (itself included) began, to measure it when it ends.</summary>
        public int FirstNode { get; } = firstNode;

        public long FirstCharacter { get; } = firstCharacter;

        /// <summary>Levels of nesting of this collection and what it holds so far (1 when it holds only scalars).</summary>
        public int Height { get; set; } = 1;

        /// <summary>In a mapping, the key read whose value comes next; null while a key is expected.</summary>
        public string? Key { get; set; }

        public bool KeyIsMerge { get; set; }

        /// <summary>The mappings a merge key brought, in order; null until a merge key's value is read.</summary>
        public List<JsonObject>? MergeSources { get; set; }
    }
}

/// <summary>The spec's text cannot be read as the format it claims.</summary>
public sealed class SpecFormatException(string message) : Exception(message);
