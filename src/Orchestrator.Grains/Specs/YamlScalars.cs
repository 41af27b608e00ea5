using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;

namespace Orchestrator.Grains.Specs;

/// <summary>
/// Types a YAML scalar as a JSON value: plain scalars as YAML 1.2's core schema types them (null, booleans, integers,
/// floats), quoted and block scalars always as strings; tags are not read. Specs depend on this exact typing (a quoted
/// "100" is not a number), so it is pinned by <c>SpecReadingCompatibilityTests</c>.
/// </summary>
internal static class YamlScalars
{
    public static JsonValue? Convert(string text, ScalarStyle style)
    {
        if (style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
        {
            return JsonValue.Create(text);
        }

        return text switch
        {
            "" or "~" or "null" or "Null" or "NULL" => null,
            "true" or "True" or "TRUE" => JsonValue.Create(true),
            "false" or "False" or "FALSE" => JsonValue.Create(false),
            _ when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer) => JsonValue.Create(integer),
            _ when IsFloat(text) => JsonValue.Create(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture)),
            _ => JsonValue.Create(text),
        };
    }

    private static bool IsFloat(string text) =>
        text.Length > 0 && (char.IsDigit(text[0]) || text[0] is '-' or '+' or '.')
        && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
        && double.IsFinite(value);
}
