using Orchestrator.Contracts.Specs;
using Orchestrator.Grains.Specs;

namespace Orchestrator.Grains.Tests.Specs;

/// <summary>
/// Anchors, aliases, merge keys and duplicate keys as the event reader handles them (docs/decisions/spec-budget.md):
/// merge keys are supported within the node budget, duplicate keys are refused in both formats, and an alias that
/// names no anchor, or the node it sits in, is an error rather than a stack overflow.
/// </summary>
public sealed class YamlAliasesAndKeysTests
{
    [Fact]
    public void A_merge_key_brings_the_keys_not_written_and_the_written_keys_win()
    {
        const string yaml = """
            name: merged
            stages:
              - { id: a, kind: dataset.synthetic, config: &base { images: 100, seed: 3 } }
              - { id: b, kind: dataset.synthetic, config: { seed: 4, <<: *base } }
              - { id: c, kind: dataset.synthetic, config: { <<: [{ seed: 5 }, *base], web_noise: 0.1 } }
            """;

        var read = SpecReader.Read(yaml, SpecFormat.Yaml);

        Assert.Empty(read.Errors);
        Assert.Equal("""{"seed":4,"images":100}""", read.Spec!.Stages[1].Config.ToJsonString());
        // Written keys first, then merged ones; an earlier mapping in the list wins over a later one.
        Assert.Equal("""{"web_noise":0.1,"seed":5,"images":100}""", read.Spec.Stages[2].Config.ToJsonString());
        Assert.Empty(SpecValidator.Validate(read.Spec, new SubmissionRules()).Errors);
    }

    [Fact]
    public void A_merged_mapping_stays_whole_for_later_aliases()
    {
        const string yaml = """
            name: merged
            stages:
              - { id: a, kind: dataset.synthetic, config: { <<: &base { images: 100 }, seed: 1 } }
              - { id: b, kind: dataset.synthetic, config: *base }
            """;

        var read = SpecReader.Read(yaml, SpecFormat.Yaml);

        Assert.Empty(read.Errors);
        Assert.Equal("""{"images":100}""", read.Spec!.Stages[1].Config.ToJsonString());
    }

    [Fact]
    public void Merge_keys_expand_within_the_node_budget()
    {
        var levels = string.Concat(Enumerable.Range(1, 8).Select(level =>
            $"l{level}: &l{level} {{ <<: [{string.Join(", ", Enumerable.Range(0, 9).Select(_ => $"*l{level - 1}"))}], k{level}: [{string.Join(", ", Enumerable.Range(0, 9).Select(_ => $"*l{level - 1}"))}] }}\n"));
        var yaml = $"name: n\nl0: &l0 {{ a: 1 }}\n{levels}stages: []\n";

        var read = SpecReader.Read(yaml, SpecFormat.Yaml);

        Assert.Equal("SpecLimits:MaxNodes", read.ExceededLimit);
        Assert.True(read.Nodes <= SpecLimits.Default.MaxNodes);
    }

    [Theory]
    [InlineData("name: n\nstages: []\nx: { <<: 3 }", "the merge key '<<' at line 3 takes a mapping or a list of mappings, e.g. '<<: *defaults', but has 3")]
    [InlineData("name: n\nstages: []\nx: { <<: [{ a: 1 }, b] }", "the merge key '<<' at line 3 takes a mapping or a list of mappings, e.g. '<<: *defaults', but has a list")]
    [InlineData("name: n\nstages: []\nx: { <<: { a: 1 }, <<: { b: 1 } }", "the key '<<' at line 3 is given already in the mapping that starts at line 3; keep one of them")]
    [InlineData("name: n\nname: m\nstages: []", "the key 'name' at line 2 is given already in the mapping that starts at line 1; keep one of them")]
    [InlineData("name: n\nstages: [{ id: a, config: { seed: 1, seed: 2 } }]", "the key 'seed' at line 2 is given already in the mapping that starts at line 2; keep one of them")]
    [InlineData("k: &k name\nname: n\n*k : m\nstages: []", "the key 'name' at line 3 is given already in the mapping that starts at line 1; keep one of them")]
    [InlineData("name: n\nstages: *nowhere", "the alias *nowhere at line 2 refers to no anchor &nowhere before it; put &nowhere on a node above it, or fix the name")]
    [InlineData("name: n\nstages: &s [1, *s]", "the alias *s at line 2 is inside the node anchored &s, so it would repeat forever; refer to a node defined before it")]
    [InlineData("name: n\nstages: []\n? [a, b]\n: c", "a mapping key at line 3 is not a plain value; write keys as names")]
    [InlineData("name: n\nstages: []\nl: &l [1]\n*l : c", "a mapping key at line 4 is not a plain value; write keys as names")]
    [InlineData("name: a\nstages: []\n---\nname: b\nstages: []", "the YAML holds several documents; submit one experiment per request")]
    public void Yaml_that_cannot_be_a_tree_gets_one_clear_error(string yaml, string message)
    {
        var read = SpecReader.Read(yaml, SpecFormat.Yaml);

        Assert.Null(read.Spec);
        Assert.Null(read.ExceededLimit);
        Assert.Equal(new SpecError("", $"the body is not valid YAML ({message}); fix the syntax at the place named"), Assert.Single(read.Errors));
    }

    [Theory]
    [InlineData("""{ "name": "a", "name": "b", "stages": [] }""", "the key 'name' is given twice in the object at ''; keep one of them")]
    [InlineData("""{ "name": "a", "stages": [{ "config": { "seed": 1, "seed": 2 } }] }""", "the key 'seed' is given twice in the object at '/stages/0/config'; keep one of them")]
    public void Json_with_a_key_given_twice_gets_one_clear_error(string json, string message)
    {
        var read = SpecReader.Read(json, SpecFormat.Json);

        Assert.Null(read.Spec);
        Assert.Equal(
            new SpecError("", $"the body is not valid JSON ({message}); send a JSON object, or YAML with Content-Type application/yaml"),
            Assert.Single(read.Errors));
    }

    [Fact]
    public void A_json_string_that_escapes_half_a_surrogate_pair_is_an_error_not_an_exception_later()
    {
        var read = SpecReader.Read("""{ "name": "\uD800", "stages": [] }""", SpecFormat.Json);

        Assert.Null(read.Spec);
        Assert.Equal(
            new SpecError("", "the body is not valid JSON (the string at '/name' is not text (Cannot read incomplete UTF-16 JSON text as string with missing low surrogate.); " +
                "remove the lone \\uD800-\\uDFFF escape); send a JSON object, or YAML with Content-Type application/yaml"),
            Assert.Single(read.Errors));
    }

    [Fact]
    public void A_quoted_merge_key_is_an_ordinary_key()
    {
        var read = SpecReader.Read("name: n\nstages: []\n'<<': { a: 1 }", SpecFormat.Yaml);

        Assert.Equal(new SpecError("/<<", "unknown field '<<' in experiment; known fields: name, stages, labels"), Assert.Single(read.Errors));
    }

    [Fact]
    public void Syntax_errors_name_their_line_and_column()
    {
        var read = SpecReader.Read("name: [unclosed", SpecFormat.Yaml);

        Assert.Equal(
            new SpecError("", "the body is not valid YAML (line 2, column 1: While parsing a flow sequence, did not find expected ',' or ']'.); fix the syntax at the place named"),
            Assert.Single(read.Errors));
    }
}
