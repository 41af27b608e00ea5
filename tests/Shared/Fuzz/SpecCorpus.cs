using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Testing.Fuzz;

/// <summary>A spec the fuzzers start from, by name, as YAML and as the JSON tree it stands for.</summary>
internal sealed record SeedSpec(string Name, string Yaml, JsonObject Tree);

/// <summary>
/// The seed corpus: every file in <c>examples/</c> plus whatever specs a test project adds (the Grains tests add the
/// validation tests' cases). Seeds are trusted, small and alias-free, so they are turned into trees here with
/// YamlDotNet's representation model, independently of the reader under test.
/// </summary>
internal static class SpecCorpus
{
    public static IReadOnlyList<SeedSpec> Build(IEnumerable<(string Name, string Yaml)> extra) =>
        [.. Examples.Names().Select(name => (name, Examples.Read(name))).Concat(extra).Select(seed => new SeedSpec(seed.Item1, seed.Item2, Tree(seed.Item2)))];

    /// <summary>The JSON tree <paramref name="yaml"/> stands for (a trusted spec: small, alias-free).</summary>
    public static JsonObject Tree(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return Convert(stream.Documents[0].RootNode) as JsonObject ?? throw new ArgumentException("a seed must be a mapping", nameof(yaml));
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(pair => KeyValuePair.Create(((YamlScalarNode)pair.Key).Value!, Convert(pair.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(Convert)]),
        YamlScalarNode { Style: not YamlDotNet.Core.ScalarStyle.Plain } scalar => JsonValue.Create(scalar.Value),
        YamlScalarNode scalar => scalar.Value switch
        {
            "" or "~" or "null" => null,
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            var text when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer) => JsonValue.Create(integer),
            var text when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number) => JsonValue.Create(number),
            var text => JsonValue.Create(text),
        },
        _ => null,
    };
}
