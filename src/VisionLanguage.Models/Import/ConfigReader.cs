using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VisionLanguage.Models.Import;

/// <summary>Reads a checkpoint's config.json, adding what is missing, mistyped or unsupported to a shared list of problems instead of stopping at the first.</summary>
internal sealed class ConfigReader(JsonObject config, string source, List<string> problems)
{
    /// <summary>An integer setting; without <paramref name="fallback"/> the key is required.</summary>
    public int Int(string key, int? fallback = null)
    {
        if (config[key] is not JsonValue value)
        {
            return fallback ?? Missing(key);
        }

        if (value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<int>(out var number) && number > 0)
        {
            return number;
        }

        problems.Add($"{source}: {key} is {value.ToJsonString()}; it must be a positive integer");
        return fallback ?? 1;
    }

    /// <summary>A token id: an integer that may be 0 (T5's pad and decoder start).</summary>
    public int TokenId(string key, int fallback)
    {
        if (config[key] is not JsonValue value)
        {
            return fallback;
        }

        if (value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<int>(out var number) && number >= 0)
        {
            return number;
        }

        problems.Add($"{source}: {key} is {value.ToJsonString()}; it must be a token id (an integer, 0 or more)");
        return fallback;
    }

    public double Double(string key, double fallback)
    {
        if (config[key] is not JsonValue value)
        {
            return fallback;
        }

        if (value.GetValueKind() == JsonValueKind.Number && value.GetValue<double>() is var number && number > 0 && double.IsFinite(number))
        {
            return number;
        }

        problems.Add($"{source}: {key} is {value.ToJsonString()}; it must be a positive number");
        return fallback;
    }

    public bool Bool(string key, bool fallback)
    {
        if (config[key] is not JsonValue value)
        {
            return fallback;
        }

        if (value.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            return value.GetValue<bool>();
        }

        problems.Add($"{source}: {key} is {value.ToJsonString()}; it must be true or false");
        return fallback;
    }

    public string String(string key, string fallback) =>
        config[key] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : fallback;

    /// <summary>A setting that, when present, must be <paramref name="expected"/>.</summary>
    public void Expect(string key, string expected)
    {
        if (config[key] is JsonValue value && value.ToString() != expected)
        {
            problems.Add($"{source}: {key} is '{value}', but this architecture reads only {expected}");
        }
    }

    public void Expect(string key, int expected)
    {
        if (config[key] is JsonValue value && value.ToJsonString() != expected.ToString(CultureInfo.InvariantCulture))
        {
            problems.Add($"{source}: {key} is {value.ToJsonString()}, but this architecture reads only {expected}");
        }
    }

    public void Divides(string divisorKey, int divisor, string key, int value)
    {
        if (divisor > 0 && value % divisor != 0)
        {
            problems.Add($"{source}: {divisorKey} {divisor} does not divide {key} {value}");
        }
    }

    public T Unsupported<T>(string key, string value, string supported, T fallback)
    {
        problems.Add($"{source}: {key} '{value}' is not supported; this architecture reads {supported}");
        return fallback;
    }

    private int Missing(string key)
    {
        problems.Add($"{source}: {key} is missing; add it (the model's shape cannot be known without it)");
        return 1;
    }
}
