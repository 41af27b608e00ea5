using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Catalog.Presets;
using Orchestrator.Contracts.Specs;

namespace Orchestrator.Contracts.Catalog;

/// <summary>
/// Binds a stage's <c>config</c> (snake_case keys) onto the kind's typed options class, reporting every
/// unknown, ill-typed or out-of-range option at once. The orchestrator binds to validate a spec and to
/// resolve the options it sends; a worker binds the resolved options again to run them.
/// </summary>
public static class OptionsBinder
{
    public const string PresetKey = "preset";

    private static readonly JsonSerializerOptions SerializerOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>Binds <paramref name="config"/>; errors carry paths under <paramref name="path"/>.</summary>
    public static BoundOptions Bind(StageKind kind, JsonObject config, string path)
    {
        var errors = new List<SpecError>();
        var options = Activator.CreateInstance(kind.OptionsType)
            ?? throw new InvalidOperationException($"Cannot create options {kind.OptionsType.Name}.");
        var properties = OptionProperties(kind.OptionsType);

        if (PresetName(kind, options, config, path, errors) is { } presetName
            && kind.Presets.TryGetValue(presetName, out var preset))
        {
            // Preset values are ours, so a failure here is a catalog bug, reported like any other error.
            Apply(kind, options, properties, preset, $"{path}/{PresetKey}", errors);
        }

        Apply(kind, options, properties, config, path, errors);

        // Rules still run after other errors (an ill-typed option keeps its valid default), but an option
        // already reported is not reported twice.
        var reported = errors.Select(error => error.Path).ToHashSet();
        errors.AddRange(ValidateRules(options, path).Where(error => !reported.Contains(error.Path)));

        return new BoundOptions(options, errors);
    }

    /// <summary>Binds resolved options as a worker receives them; throws with every problem named.</summary>
    public static T Read<T>(StageKind kind, string resolvedJson)
        where T : class
    {
        var config = JsonNode.Parse(resolvedJson) as JsonObject
            ?? throw new InvalidOptionsException(kind.Name, [new SpecError("", "options must be a JSON object")]);
        var bound = Bind(kind, config, "");
        return bound.Errors.Count == 0 && bound.Options is T typed
            ? typed
            : throw new InvalidOptionsException(kind.Name, bound.Errors);
    }

    /// <summary>Every option with its value, as the resolved options a run receives.</summary>
    public static JsonObject ToJson(object options) =>
        JsonSerializer.SerializeToNode(options, options.GetType(), SerializerOptions)!.AsObject();

    /// <summary>The values an enum option accepts, as users write them.</summary>
    public static IReadOnlyList<string> EnumValues(Type enumType) => [.. OptionValues.EnumNames(enumType)];

    /// <summary>The snake_case name an options property is known by.</summary>
    public static string OptionName(PropertyInfo property) => JsonNamingPolicy.SnakeCaseLower.ConvertName(property.Name);

    /// <summary>The settable public properties of an options type, in declaration order; read once per type (every submission binds every stage).</summary>
    public static IReadOnlyList<PropertyInfo> OptionProperties(Type optionsType) =>
        Properties.GetOrAdd(optionsType, type =>
            [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(property => property.CanWrite && property.GetSetMethod() is not null)
                .OrderBy(property => property.MetadataToken)]);

    private static readonly ConcurrentDictionary<Type, IReadOnlyList<PropertyInfo>> Properties = new();

    private static string? PresetName(StageKind kind, object options, JsonObject config, string path, List<SpecError> errors)
    {
        if (kind.Presets.Count == 0)
        {
            return null;
        }

        var name = config[PresetKey] is JsonValue value && value.GetValueKind() == JsonValueKind.String
            ? value.GetValue<string>()
            : options.GetType().GetProperty("Preset")?.GetValue(options) as string;
        if (name is not null && !kind.Presets.ContainsKey(name))
        {
            errors.Add(new SpecError($"{path}/{PresetKey}",
                $"unknown preset '{name}' for kind {kind.Name}; use one of: {string.Join(", ", kind.Presets.Keys)}"));
            return null;
        }

        return name;
    }

    private static void Apply(
        StageKind kind, object options, IReadOnlyList<PropertyInfo> properties, JsonObject values, string path, List<SpecError> errors)
    {
        foreach (var (key, node) in values)
        {
            var property = properties.FirstOrDefault(candidate => OptionName(candidate) == key);
            if (property is null)
            {
                errors.Add(new SpecError($"{path}/{key}", UnknownOptionMessage(kind, key, properties)));
                continue;
            }

            if (OptionValues.TryConvert(node, property.PropertyType, out var converted, out var expected))
            {
                property.SetValue(options, converted);
            }
            else
            {
                errors.Add(new SpecError($"{path}/{key}",
                    $"option '{key}' of kind {kind.Name} must be {expected}, but is {OptionValues.Describe(node)}; " +
                    $"give {expected}, e.g. {key}: {OptionValues.Example(property.PropertyType)}"));
            }
        }
    }

    private static IEnumerable<SpecError> ValidateRules(object options, string path)
    {
        // Property attributes and the class's own rules both run: Validator.TryValidateObject would skip
        // the class rules whenever an attribute fails, hiding problems from the user.
        var results = new List<ValidationResult>();
        foreach (var property in OptionProperties(options.GetType()))
        {
            Validator.TryValidateProperty(property.GetValue(options), new ValidationContext(options) { MemberName = property.Name }, results);
        }

        if (options is IValidatableObject validatable)
        {
            results.AddRange(validatable.Validate(new ValidationContext(options)));
        }

        foreach (var result in results)
        {
            var message = result.ErrorMessage ?? "is invalid";
            var member = result.MemberNames.FirstOrDefault();
            if (member is null)
            {
                yield return new SpecError(path, message);
                continue;
            }

            // DataAnnotations names the C# property; users know the option by its snake_case name.
            var name = JsonNamingPolicy.SnakeCaseLower.ConvertName(member);
            message = message.Replace($"The field {member}", $"option '{name}'", StringComparison.Ordinal)
                .Replace(member, $"'{name}'", StringComparison.Ordinal);
            yield return new SpecError($"{path}/{name}", message);
        }
    }

    private static string UnknownOptionMessage(StageKind kind, string key, IReadOnlyList<PropertyInfo> properties)
    {
        if (OptionPresets.ShapeKeys.Contains(key) && typeof(TrainingOptions).IsAssignableFrom(kind.OptionsType))
        {
            return $"option '{key}' sets the model's shape, which kind {kind.Name} takes from its input checkpoint, not from options; " +
                $"remove '{key}' (a shape is chosen where a model is trained from scratch, as in blip.pretrain)";
        }

        var names = properties.Select(OptionName).ToList();
        var closest = names.MinBy(name => EditDistance(name, key));
        var hint = closest is not null && EditDistance(closest, key) <= Math.Max(2, key.Length / 3)
            ? $"did you mean '{closest}'? "
            : "";
        return $"unknown option '{key}' for kind {kind.Name}; {hint}known options: {string.Join(", ", names)}";
    }

    private static int EditDistance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }
}

/// <summary>The result of binding a stage's config: the options object, valid only when there are no errors.</summary>
public sealed record BoundOptions(object Options, IReadOnlyList<SpecError> Errors);

/// <summary>Thrown when options a run received cannot be honoured.</summary>
public sealed class InvalidOptionsException(string kind, IReadOnlyList<SpecError> errors)
    : Exception($"invalid options for kind {kind}: " +
        string.Join("; ", errors.Select(error => $"{error.Path.TrimStart('/')}: {error.Message}")))
{
    public IReadOnlyList<SpecError> Errors { get; } = errors;
}

/// <summary>Conversions from JSON values to option property types, and how to describe them to a user.</summary>
internal static class OptionValues
{
    public static bool TryConvert(JsonNode? node, Type type, out object? value, out string expected)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        expected = Expected(target);
        value = null;
        if (node is null)
        {
            return Nullable.GetUnderlyingType(type) is not null || !type.IsValueType && type != typeof(string);
        }

        if (node is not JsonValue scalar)
        {
            return false;
        }

        var kind = scalar.GetValueKind();
        var element = JsonSerializer.SerializeToElement(scalar);
        if (target == typeof(string) && kind == JsonValueKind.String)
        {
            value = element.GetString();
        }
        else if (target == typeof(bool) && kind is JsonValueKind.True or JsonValueKind.False)
        {
            value = element.GetBoolean();
        }
        else if (target == typeof(int) && kind == JsonValueKind.Number && element.TryGetInt32(out var int32))
        {
            value = int32;
        }
        else if (target == typeof(long) && kind == JsonValueKind.Number && element.TryGetInt64(out var int64))
        {
            value = int64;
        }
        else if (target == typeof(double) && kind == JsonValueKind.Number)
        {
            value = element.GetDouble();
        }
        else if (target.IsEnum && kind == JsonValueKind.String)
        {
            value = EnumValue(target, element.GetString()!);
        }

        return value is not null;
    }

    public static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "a list",
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => $"the string \"{value.GetValue<string>()}\"",
            JsonValueKind.Number => $"the number {value.ToJsonString()}",
            JsonValueKind.True or JsonValueKind.False => $"the boolean {value.ToJsonString()}",
            _ => value.ToJsonString(),
        },
        _ => node.ToJsonString(),
    };

    public static string Example(Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        return target switch
        {
            _ when target == typeof(int) || target == typeof(long) => "3",
            _ when target == typeof(double) => "0.5",
            _ when target == typeof(bool) => "true",
            _ when target.IsEnum => EnumNames(target).First(),
            _ => "\"text\"",
        };
    }

    public static string Expected(Type target) => target switch
    {
        _ when target == typeof(int) || target == typeof(long) => "a whole number",
        _ when target == typeof(double) => "a number",
        _ when target == typeof(bool) => "true or false",
        _ when target == typeof(string) => "a string",
        _ when target.IsEnum => $"one of {string.Join(", ", EnumNames(target))}",
        _ => target.Name,
    };

    public static IEnumerable<string> EnumNames(Type enumType) =>
        Enum.GetNames(enumType).Select(JsonNamingPolicy.SnakeCaseLower.ConvertName);

    private static object? EnumValue(Type enumType, string text) =>
        Enum.GetNames(enumType)
            .Where(name => string.Equals(JsonNamingPolicy.SnakeCaseLower.ConvertName(name), text, StringComparison.OrdinalIgnoreCase)
                || string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            .Select(name => Enum.Parse(enumType, name))
            .FirstOrDefault();
}
