using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Orchestrator.Testing.Observability;

/// <summary>The PromQL a Grafana dashboard runs: every panel target's <c>expr</c> (rows' nested panels included), and the metric selector inside each <c>label_values(...)</c> variable query.</summary>
internal static partial class DashboardQueries
{
    public sealed record Query(string Panel, string Expression);

    public static IReadOnlyList<Query> Read(string dashboardJson)
    {
        var dashboard = JsonNode.Parse(dashboardJson)!;
        var queries = new List<Query>();
        foreach (var panel in Panels(dashboard["panels"]!.AsArray()))
        {
            foreach (var target in panel["targets"]?.AsArray() ?? [])
            {
                if (target?["expr"]?.GetValue<string>() is { Length: > 0 } expression)
                {
                    queries.Add(new Query(panel["title"]!.GetValue<string>(), expression));
                }
            }
        }

        foreach (var variable in dashboard["templating"]?["list"]?.AsArray() ?? [])
        {
            var definition = variable?["query"] switch
            {
                JsonObject query => query["query"]?.GetValue<string>(),
                JsonValue query => query.GetValue<string>(),
                _ => null,
            };
            if (definition is not null && LabelValues().Match(definition) is { Success: true } match)
            {
                queries.Add(new Query($"variable {variable!["name"]}", match.Groups[1].Value));
            }
        }

        return queries;
    }

    /// <summary>Replaces template variables (<c>$name</c> or <c>${name}</c>) by the given values.</summary>
    public static string Substitute(string expression, IReadOnlyDictionary<string, string> values) =>
        Variable().Replace(expression, match =>
        {
            var name = match.Groups["braced"].Success ? match.Groups["braced"].Value : match.Groups["plain"].Value;
            return values.TryGetValue(name, out var value)
                ? value
                : throw new InvalidOperationException($"the dashboard uses variable ${name}, for which the test has no value: '{expression}'");
        });

    /// <summary>
    /// The metric names an expression reads: what is left after removing strings, label matchers, ranges, grouping
    /// lists, function names, keywords and numbers.
    /// </summary>
    public static IReadOnlyList<string> MetricNames(string expression)
    {
        var bare = Grouping().Replace(Brackets().Replace(Strings().Replace(expression, " "), " "), " ");
        return [.. Identifier().Matches(bare).Select(match => match.Value).Where(name => !Keywords.Contains(name)).Distinct()];
    }

    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "and", "or", "unless", "offset", "bool", "on", "ignoring", "group_left", "group_right", "inf", "nan", "Inf", "NaN",
    };

    private static IEnumerable<JsonNode> Panels(JsonArray panels)
    {
        foreach (var panel in panels.OfType<JsonNode>())
        {
            yield return panel;
            foreach (var nested in Panels(panel["panels"]?.AsArray() ?? []))
            {
                yield return nested;
            }
        }
    }

    [GeneratedRegex(@"^label_values\((.+),\s*\w+\)$")]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"\$(?:\{(?<braced>\w+)\}|(?<plain>\w+))")]
    private static partial Regex Variable();

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""")]
    private static partial Regex Strings();

    [GeneratedRegex(@"\{[^}]*\}|\[[^\]]*\]")]
    private static partial Regex Brackets();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    // A name not followed by '(' (that is a function) and not part of a number.
    [GeneratedRegex(@"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*(?![\w(])(?!\s*\()")]
    private static partial Regex Identifier();
}
