using System.Text;
using Orchestrator.Grains.Specs;

namespace Orchestrator.Testing.Fuzz;

/// <summary>One fuzz input: what it is (for the report), its format, and its text (or, for the API, raw bytes).</summary>
internal sealed record FuzzInput(string Description, SpecFormat Format, string Text, byte[]? Bytes = null)
{
    public byte[] Body => Bytes ?? Encoding.UTF8.GetBytes(Text);
}

/// <summary>
/// Adversarial specs by family, each drawn from a <see cref="Random"/> so a case replays from its seed: alias bombs of
/// varied shape, deep nesting, huge values, merge keys, duplicate keys and very wide specs. Sizes are chosen around
/// the default <see cref="SpecLimits"/>, on both sides of each.
/// </summary>
internal static class HostileSpecs
{
    private static readonly SpecLimits Limits = SpecLimits.Default;

    public static FuzzInput AliasBomb(Random random)
    {
        var (levels, fanout) = (random.Next(2, 13), random.Next(2, 13));
        var leaf = random.Next(4);
        var lines = new List<string>();
        for (var level = 0; level < levels; level++)
        {
            var repeated = string.Join(", ", Enumerable.Repeat($"*l{level - 1}", fanout));
            lines.Add(level == 0
                ? leaf switch
                {
                    0 => $"l0: &l0 [{string.Join(", ", Enumerable.Repeat("lol", fanout))}]",
                    1 => $"l0: &l0 \"{new string('x', random.Next(1, 5000))}\"",
                    _ => "l0: &l0 { a: 1, b: [x, y] }",
                }
                : leaf == 3 ? $"l{level}: &l{level} {{ <<: [{repeated}], k{level}: [{repeated}] }}" : $"l{level}: &l{level} [{repeated}]");
        }

        var last = $"*l{levels - 1}";
        var text = random.Next(4) switch
        {
            0 => $"name: bomb\n{string.Join('\n', lines)}\nstages: {last}\n",
            1 => $"name: bomb\nlabels:\n{Indent(lines, 2)}\n  all: {last}\nstages: []\n",
            2 => $"name: bomb\nstages:\n  - id: s\n    kind: dataset.synthetic\n    config:\n{Indent(lines, 6)}\n      all: {last}\n",
            _ => $"name: bomb\nstages:\n  - {{ id: s, kind: dataset.synthetic, config: {{ {string.Join(", ", lines)} }} }}\n",
        };
        return new($"alias bomb {levels}x{fanout}, leaf {leaf}", SpecFormat.Yaml, text);
    }

    public static FuzzInput DeepNesting(Random random)
    {
        var depth = random.Next(4) switch
        {
            0 => Limits.MaxDepth + random.Next(-3, 4),
            1 => random.Next(1, 200),
            2 => random.Next(200, 20_000),
            _ => random.Next(1, 70),
        };
        var closed = random.Next(4) != 0;
        var style = random.Next(7);
        string Close(char bracket) => closed ? new string(bracket, depth) : "";
        var (format, nested) = style switch
        {
            0 => (SpecFormat.Yaml, new string('[', depth) + "x" + Close(']')),
            1 => (SpecFormat.Yaml, string.Concat(Enumerable.Repeat("{a: ", depth)) + "x" + Close('}')),
            2 => (SpecFormat.Yaml, "\n" + string.Concat(Enumerable.Range(1, Math.Min(depth, 1400)).Select(level => $"{new string(' ', level)}a:\n")) + new string(' ', Math.Min(depth, 1400) + 1) + "x"),
            3 => (SpecFormat.Yaml, string.Concat(Enumerable.Repeat("- ", depth)) + "x"),
            4 => (SpecFormat.Json, new string('[', depth) + "1" + Close(']')),
            5 => (SpecFormat.Json, string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + Close('}')),
            _ => (SpecFormat.Json, string.Concat(Enumerable.Range(0, depth).Select(level => level % 2 == 0 ? "[" : "{\"k\":")) + "null"
                + (closed ? string.Concat(Enumerable.Range(0, depth).Reverse().Select(level => level % 2 == 0 ? "]" : "}")) : "")),
        };
        var text = (format, random.Next(3)) switch
        {
            (SpecFormat.Json, 0) => nested,
            (SpecFormat.Json, _) => $"{{\"name\":\"deep\",\"stages\":[{{\"id\":\"d\",\"kind\":\"dataset.synthetic\",\"config\":{{\"images\":{nested}}}}}]}}",
            (_, 0) => $"name: deep\nstages: {nested}\n",
            _ => $"name: deep\nstages:\n  - id: d\n    kind: dataset.synthetic\n    config:\n      images: {nested}\n",
        };
        return new($"deep nesting {depth}, style {style}, {(closed ? "closed" : "unclosed")}", format, text);
    }

    public static FuzzInput HugeScalar(Random random)
    {
        var length = random.Next(5) switch
        {
            0 => Limits.MaxScalarLength - 1,
            1 => Limits.MaxScalarLength,
            2 => Limits.MaxScalarLength + 1,
            3 => random.Next(1, Limits.MaxBytes + 1000),
            _ => random.Next(1, 4 * Limits.MaxScalarLength),
        };
        var value = random.Next(3) switch
        {
            0 => new string('x', length),
            1 => new string('é', length / 2),
            _ => string.Concat(Enumerable.Repeat("9", length)),
        };
        var style = random.Next(9);
        var (format, text) = style switch
        {
            0 => (SpecFormat.Yaml, $"name: {value}\nstages: []\n"),
            1 => (SpecFormat.Yaml, $"name: \"{value}\"\nstages: []\n"),
            2 => (SpecFormat.Yaml, $"name: n\nstages:\n  - id: d\n    kind: dataset.synthetic\n    config:\n      images: '{value}'\n"),
            3 => (SpecFormat.Yaml, $"name: n\nlabels:\n  l: |\n    {value}\nstages: []\n"),
            4 => (SpecFormat.Yaml, $"name: n\nstages:\n  - id: d\n    kind: dataset.synthetic\n    config:\n      {value}: 1\n"),
            5 => (SpecFormat.Yaml, $"name: n\nstages:\n  - {{ id: {value}, kind: dataset.synthetic, priority: {value} }}\n"),
            6 => (SpecFormat.Json, $"{{\"name\":\"{value}\",\"stages\":[]}}"),
            7 => (SpecFormat.Json, $"{{\"name\":\"n\",\"stages\":[{{\"id\":\"d\",\"kind\":\"dataset.synthetic\",\"config\":{{\"{value}\":1}}}}]}}"),
            _ => (SpecFormat.Json, $"{{\"name\":\"n\",\"stages\":[{{\"id\":\"d\",\"kind\":\"dataset.synthetic\",\"priority\":{value}}}]}}"),
        };
        return new($"huge scalar of {value.Length} chars, style {style}", format, text);
    }

    public static FuzzInput MergeKeys(Random random)
    {
        string[] merges =
        [
            "*b0", "[*b0, *b1]", "[*b1, *b0]", "[*b0, { web_noise: 0.2 }]", "*s", "*l", "[*s]", "{}", "[]", "null", "[*b0, *nothere]",
            "{ <<: *b1, images: 3 }", "*b0\n      <<: *b1", "[*b0, [*b1]]", "!!merge *b0", "&m [*b0, *b0, *b0]",
        ];
        var merge = merges[random.Next(merges.Length)];
        var key = random.Next(5) switch { 0 => "'<<'", 1 => "!!merge <<", 2 => "\"<<\"", _ => "<<" };
        var written = random.Next(3) switch { 0 => "", 1 => "      seed: 9\n", _ => "      images: 1\n      seed: 2\n" };
        var text = "name: merge\nstages:\n" +
            "  - { id: a, kind: dataset.synthetic, config: &b0 { images: 10, seed: 1 } }\n" +
            "  - { id: b, kind: dataset.synthetic, config: &b1 { web_noise: 0.1, seed: 5 }, labels: &l [1], needs: &s a }\n" +
            $"  - id: c\n    kind: dataset.synthetic\n    config:\n{(random.Next(2) == 0 ? written : "")}      {key}: {merge}\n{written}" +
            (random.Next(4) == 0 ? "  - <<: { id: d, kind: dataset.synthetic }\n" : "");
        return new($"merge key {key}: {merge.Replace('\n', ' ')}", SpecFormat.Yaml, text);
    }

    /// <summary>A spec of many stages, each with a problem, to find costs that grow with the product of stages and errors.</summary>
    public static FuzzInput Wide(Random random)
    {
        var stages = random.Next(2) == 0 ? random.Next(400, 700) : random.Next(700, 16_000);
        var problem = random.Next(7);
        var text = new StringBuilder($"name: wide\nstages:\n");
        for (var index = 0; index < stages; index++)
        {
            text.Append(problem switch
            {
                0 => $"  - {{ id: s{index}, kind: dataset.synthetic, needs: [ghost{index}] }}\n",
                1 => $"  - {{ id: s{index}, kind: blip.pretrain, inputs: {{ train: ghost.web }} }}\n",
                2 => $"  - {{ id: s{index}, kind: dataset.synthetic, needs: [s{(index + 1) % stages}] }}\n",
                3 => $"  - {{ id: same, kind: dataset.synthetic }}\n",
                4 => $"  - {{ id: s{index}, kind: dataset.synthetic, config: {{ option_that_does_not_exist_{index}: 1 }} }}\n",
                5 => $"  - {{ id: s{index}, kind: blip.pretrain, inputs: {{ train: s{Math.Max(index - 1, 0)}.web }} }}\n",
                _ => $"  - {{ id: s{index}, kind: nope{index} }}\n",
            });
        }

        return new($"{stages} stages, problem {problem}", SpecFormat.Yaml, text.ToString());
    }

    private static string Indent(IEnumerable<string> lines, int spaces) => string.Join('\n', lines.Select(line => new string(' ', spaces) + line));
}
