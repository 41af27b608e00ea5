using Orchestrator.Contracts.Specs;
using Orchestrator.Grains.Specs;

namespace Orchestrator.Grains.Tests.Specs;

/// <summary>
/// Reading a spec stops at <see cref="SpecLimits"/> before the cost is paid (issue 21): the node budget counts alias
/// expansions before they are copied, depth is checked before a level is opened, and each error names its setting.
/// </summary>
public sealed class SpecLimitsTests
{
    /// <summary>The issue's "billion laughs": nine levels, each list repeating the one before nine times; 9^9 ≈ 387 million nodes.</summary>
    public const string AliasBomb = """
        name: laughs
        a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
        h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
        i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
        stages: *i
        """;

    [Fact]
    public void The_alias_bomb_from_the_issue_stops_at_the_node_budget_before_copying_what_would_pass_it()
    {
        var read = SpecReader.Read(AliasBomb, SpecFormat.Yaml);

        Assert.True(AliasBomb.Length < 512);
        Assert.Null(read.Spec);
        Assert.Equal(
            new SpecError("/f/0", "the spec expands past 100000 nodes through aliases (the alias at line 7 adds 66430; SpecLimits:MaxNodes); write the repeated part out fewer times or raise the limit"),
            Assert.Single(read.Errors));
        Assert.Equal("SpecLimits:MaxNodes", read.ExceededLimit);
        // root 1, name 2, a..e with their keys 11 + 92 + 821 + 7382 + 66431, f's key and list 2: the next copy would add 66430.
        Assert.Equal(74742, read.Nodes);
        Assert.True(read.Nodes <= SpecLimits.Default.MaxNodes);
    }

    [Fact]
    public void Aliases_within_the_budget_are_expanded_and_counted()
    {
        const string yaml = """
            name: n
            stages:
              - { id: a, kind: dataset.synthetic, config: &c { images: 10, seed: 1 } }
              - { id: b, kind: dataset.synthetic, config: *c }
            """;

        var read = SpecReader.Read(yaml, SpecFormat.Yaml);

        Assert.Empty(read.Errors);
        Assert.Null(read.ExceededLimit);
        Assert.Equal("""{"images":10,"seed":1}""", read.Spec!.Stages[1].Config.ToJsonString());
        // root 1, name 2, stages and its list 2, stage a 1 + id 2 + kind 2 + config 1 + 5, stage b the same with a copy of 5.
        Assert.Equal(27, read.Nodes);
        Assert.Equal(4, read.Depth);
    }

    [Theory]
    [InlineData(SpecFormat.Yaml)]
    [InlineData(SpecFormat.Json)]
    public void Deep_nesting_stops_at_the_depth_limit_alike_in_both_formats(SpecFormat format)
    {
        const int levels = 100;
        var text = format == SpecFormat.Json
            ? string.Concat(Enumerable.Repeat("""{"a":""", levels)) + "1" + new string('}', levels)
            : string.Concat(Enumerable.Repeat("{a: ", levels)) + "1" + new string('}', levels);

        var read = SpecReader.Read(text, format);

        Assert.Equal(
            new SpecError(string.Concat(Enumerable.Repeat("/a", 64)), "the spec nests lists and mappings deeper than 64 levels (SpecLimits:MaxDepth); flatten it or raise the limit"),
            Assert.Single(read.Errors));
        Assert.Equal("SpecLimits:MaxDepth", read.ExceededLimit);
        Assert.Equal(64, read.Depth);
        // 64 mappings and the 63 keys between them (the 64th key is read before the 65th mapping is refused).
        Assert.Equal(64 + 64, read.Nodes);
    }

    [Fact]
    public void Deep_block_style_yaml_stops_at_the_depth_limit_without_recursion()
    {
        var text = string.Concat(Enumerable.Range(0, 200).Select(level => $"{new string(' ', level)}a:\n")) + new string(' ', 200) + "1\n";

        var read = SpecReader.Read(text, SpecFormat.Yaml);

        Assert.Equal("SpecLimits:MaxDepth", read.ExceededLimit);
        Assert.Equal(64, read.Depth);
    }

    [Fact]
    public void An_alias_that_would_nest_past_the_depth_limit_is_refused_before_it_is_copied()
    {
        var deep = string.Concat(Enumerable.Repeat("[", 60)) + new string(']', 60);
        var text = $"name: n\nx: &x {deep}\nstages: [[[[[*x]]]]]\n";

        var read = SpecReader.Read(text, SpecFormat.Yaml);

        Assert.Equal(
            new SpecError("/stages/0/0/0/0/0", "the alias at line 3 nests the spec deeper than 64 levels (SpecLimits:MaxDepth); flatten it or raise the limit"),
            Assert.Single(read.Errors));
        Assert.Equal(61, read.Depth);
    }

    [Theory]
    [InlineData(SpecFormat.Yaml, "name: {0}\nstages: []")]
    [InlineData(SpecFormat.Json, """{{ "name": "{0}", "stages": [] }}""")]
    public void A_value_over_the_scalar_limit_is_refused_alike_in_both_formats(SpecFormat format, string template)
    {
        var limits = SpecLimits.Default with { MaxScalarLength = 100 };

        var atLimit = SpecReader.Read(string.Format(template, new string('x', 100)), format, limits);
        var overLimit = SpecReader.Read(string.Format(template, new string('x', 101)), format, limits);

        Assert.Null(atLimit.ExceededLimit);
        Assert.Equal(new string('x', 100), atLimit.Spec!.Name);
        Assert.Equal(
            new SpecError("/name", "a value or key of 101 characters is over the limit of 100 (SpecLimits:MaxScalarLength); shorten it or raise the limit"),
            Assert.Single(overLimit.Errors));
        Assert.Equal("SpecLimits:MaxScalarLength", overLimit.ExceededLimit);
    }

    [Fact]
    public void A_long_key_is_refused_at_its_mapping()
    {
        var read = SpecReader.Read($"name: n\nstages: [{{ {new string('k', 70_000)}: 1 }}]", SpecFormat.Yaml);

        Assert.Equal(
            new SpecError("/stages/0", "a value or key of 70000 characters is over the limit of 65536 (SpecLimits:MaxScalarLength); shorten it or raise the limit"),
            Assert.Single(read.Errors));
    }

    [Fact]
    public void Aliases_may_not_expand_to_more_text_than_could_have_been_sent()
    {
        var limits = SpecLimits.Default with { MaxBytes = 2048 };
        var text = $"name: &s {new string('x', 500)}\nlabels: {{ a: *s, b: *s, c: *s, d: *s }}\nstages: []\n";

        var read = SpecReader.Read(text, SpecFormat.Yaml, limits);

        Assert.Equal(
            new SpecError("/labels/d", "the spec expands past 2048 characters of text through aliases (the alias at line 2 adds 500; SpecLimits:MaxBytes); write the repeated part out fewer times or raise the limit"),
            Assert.Single(read.Errors));
        Assert.Equal("SpecLimits:MaxBytes", read.ExceededLimit);
    }

    [Fact]
    public void More_nodes_than_the_budget_written_out_are_refused_too()
    {
        var limits = SpecLimits.Default with { MaxNodes = 100 };
        var text = "{ \"name\": \"n\", \"stages\": [" + string.Join(", ", Enumerable.Repeat("1", 200)) + "] }";

        var read = SpecReader.Read(text, SpecFormat.Json, limits);

        Assert.Equal(
            new SpecError("/stages/95", "the spec has more than 100 nodes (mappings, lists, keys and values; SpecLimits:MaxNodes); split the experiment or raise the limit"),
            Assert.Single(read.Errors));
        Assert.Equal(100, read.Nodes);
    }

    [Fact]
    public void A_draft_says_which_limit_stopped_it()
    {
        var prepared = ExperimentDrafts.Prepare(AliasBomb, SpecFormat.Yaml, "exp-00000000000000000001");
        var valid = ExperimentDrafts.Prepare("name: n\nstages: [{ id: d, kind: dataset.synthetic }]", SpecFormat.Yaml, "exp-00000000000000000002");

        Assert.Null(prepared.Draft);
        Assert.Equal("SpecLimits:MaxNodes", prepared.ExceededLimit);
        Assert.Null(valid.ExceededLimit);
        Assert.NotNull(valid.Draft);
    }
}
