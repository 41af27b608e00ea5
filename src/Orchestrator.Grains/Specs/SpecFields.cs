using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Contracts.Specs;

namespace Orchestrator.Grains.Specs;

/// <summary>
/// Reads one field of a spec's JSON tree as the type it must have, or records an error with its path that names what
/// was found instead. <see cref="SpecReader"/> reads the spec's structure with these.
/// </summary>
internal static class SpecFields
{
    public static void UnknownKeys(JsonObject map, string path, string[] known, string what, List<SpecError> errors)
    {
        foreach (var key in map.Select(pair => pair.Key).Where(key => !known.Contains(key)))
        {
            errors.Add(new SpecError($"{path}/{key}", $"unknown field '{key}' in {what}; known fields: {string.Join(", ", known)}"));
        }
    }

    public static string? String(JsonObject map, string key, string path, List<SpecError> errors, bool required = false)
    {
        switch (map[key])
        {
            case null when required:
                errors.Add(new SpecError($"{path}/{key}", $"'{key}' is missing"));
                return null;
            case null:
                return null;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                return value.GetValue<string>();
            case var other:
                errors.Add(new SpecError($"{path}/{key}", $"'{key}' must be a string, but is {Describe(other)}"));
                return null;
        }
    }

    public static int? Integer(JsonObject map, string key, string path, List<SpecError> errors)
    {
        if (map[key] is not { } node)
        {
            return null;
        }

        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number
            && JsonSerializer.SerializeToElement(value).TryGetInt32(out var integer))
        {
            return integer;
        }

        errors.Add(new SpecError($"{path}/{key}", $"'{key}' must be a whole number, but is {Describe(node)}"));
        return null;
    }

    public static double? Number(JsonObject map, string key, string path, List<SpecError> errors)
    {
        if (map[key] is not { } node)
        {
            return null;
        }

        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number)
        {
            // JSON can write numbers past double's range (1e400); they read as infinity, which no setting means.
            var number = JsonSerializer.SerializeToElement(value).GetDouble();
            if (double.IsFinite(number))
            {
                return number;
            }

            errors.Add(new SpecError($"{path}/{key}", $"'{key}' is {Describe(node)}, out of the range of numbers; give a number such as 2.5"));
            return null;
        }

        errors.Add(new SpecError($"{path}/{key}", $"'{key}' must be a number, but is {Describe(node)}"));
        return null;
    }

    public static TimeSpan? Duration(JsonObject map, string key, string path, List<SpecError> errors)
    {
        if (map[key] is not { } node)
        {
            return null;
        }

        if (node is JsonValue value)
        {
            if (value.GetValueKind() == JsonValueKind.Number)
            {
                // TimeSpan overflows past about 29,000 years; Durations.TryParse allows half that, and so does this.
                var seconds = JsonSerializer.SerializeToElement(value).GetDouble();
                if (double.IsFinite(seconds) && Math.Abs(seconds) <= TimeSpan.MaxValue.TotalSeconds / 2)
                {
                    return TimeSpan.FromSeconds(seconds);
                }

                errors.Add(new SpecError($"{path}/{key}", $"'{key}' of {Describe(node)} seconds is too long a duration; give one such as 30s, 5m or 1h"));
                return null;
            }

            if (value.GetValueKind() == JsonValueKind.String && Durations.TryParse(value.GetValue<string>(), out var duration))
            {
                return duration;
            }
        }

        errors.Add(new SpecError($"{path}/{key}", $"'{key}' must be a duration such as 500ms, 30s, 5m or 1h (or a number of seconds), but is {Describe(node)}"));
        return null;
    }

    public static Dictionary<string, string> StringMap(JsonObject map, string key, string path, List<SpecError> errors)
    {
        var result = new Dictionary<string, string>();
        switch (map[key])
        {
            case null:
                break;
            case JsonObject labels:
                foreach (var (name, value) in labels)
                {
                    if (value is JsonValue scalar && scalar.GetValueKind() is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False)
                    {
                        result[name] = scalar.GetValueKind() == JsonValueKind.String ? scalar.GetValue<string>() : scalar.ToJsonString();
                    }
                    else
                    {
                        errors.Add(new SpecError($"{path}/{key}/{name}", $"label '{name}' must be a plain value, but is {Describe(value)}"));
                    }
                }

                break;
            case var other:
                errors.Add(new SpecError($"{path}/{key}", $"'{key}' must map names to values, but is {Describe(other)}"));
                break;
        }

        return result;
    }

    public static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "a list",
        JsonValue value when value.GetValueKind() == JsonValueKind.String => $"the string \"{value.GetValue<string>()}\"",
        _ => node.ToJsonString(),
    };
}
