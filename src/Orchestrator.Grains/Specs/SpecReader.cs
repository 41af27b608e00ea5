using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Contracts.Specs;
using YamlDotNet.Core;

namespace Orchestrator.Grains.Specs;

/// <summary>
/// Reads a submitted spec (JSON or YAML) into an <see cref="ExperimentSpec"/>, collecting every structural
/// problem with its path instead of stopping at the first. Meaning (kinds, references, cycles) is checked
/// afterwards by <see cref="SpecValidator"/>.
/// </summary>
public static class SpecReader
{
    public const int MaxSpecBytes = 1024 * 1024;

    private static readonly string[] RootKeys = ["name", "stages", "labels"];
    private static readonly string[] StageKeys = ["id", "kind", "inputs", "needs", "config", "resources", "retry", "priority"];
    private static readonly string[] ResourceKeys = ["workers", "slots", "device", "memory_gib", "labels"];
    private static readonly string[] RetryKeys = ["max_attempts", "initial_backoff", "multiplier", "max_backoff"];

    /// <summary>Reads <paramref name="text"/>; the spec is null when an error makes it unreadable as a whole.</summary>
    public static SpecReadResult Read(string text, SpecFormat format)
    {
        var errors = new List<SpecError>();
        if (Encoding.UTF8.GetByteCount(text) > MaxSpecBytes)
        {
            errors.Add(new SpecError("", $"the spec is {Encoding.UTF8.GetByteCount(text)} bytes, over the limit of {MaxSpecBytes} (1 MiB); split the experiment"));
            return new SpecReadResult(null, errors);
        }

        JsonNode? root;
        try
        {
            root = format == SpecFormat.Json
                ? JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })
                : YamlToJson.Convert(text);
        }
        catch (JsonException exception)
        {
            errors.Add(new SpecError("", $"the body is not valid JSON ({exception.Message}); send a JSON object, or YAML with Content-Type application/yaml"));
            return new SpecReadResult(null, errors);
        }
        catch (Exception exception) when (exception is YamlException or SpecFormatException)
        {
            errors.Add(new SpecError("", $"the body is not valid YAML ({exception.Message}); fix the syntax at the place named"));
            return new SpecReadResult(null, errors);
        }

        if (root is not JsonObject document)
        {
            errors.Add(new SpecError("", "the spec must be an object with 'name' and 'stages'"));
            return new SpecReadResult(null, errors);
        }

        var spec = ReadExperiment(document, errors);
        return new SpecReadResult(spec, errors);
    }

    private static ExperimentSpec ReadExperiment(JsonObject document, List<SpecError> errors)
    {
        UnknownKeys(document, "", RootKeys, "experiment", errors);
        var name = String(document, "name", "", errors, required: true) ?? "";
        var stages = new List<StageSpec>();
        if (document["stages"] is JsonArray stageNodes)
        {
            for (var index = 0; index < stageNodes.Count; index++)
            {
                var path = $"/stages/{index}";
                if (stageNodes[index] is JsonObject stage)
                {
                    stages.Add(ReadStage(stage, path, errors));
                }
                else
                {
                    errors.Add(new SpecError(path, "a stage must be an object with 'id' and 'kind'"));
                }
            }
        }
        else
        {
            errors.Add(new SpecError("/stages", document["stages"] is null
                ? "'stages' is missing; list the experiment's stages"
                : "'stages' must be a list of stages"));
        }

        return new ExperimentSpec { Name = name, Stages = stages, Labels = StringMap(document, "labels", "", errors) };
    }

    private static StageSpec ReadStage(JsonObject stage, string path, List<SpecError> errors)
    {
        UnknownKeys(stage, path, StageKeys, "stage", errors);
        return new StageSpec
        {
            Id = String(stage, "id", path, errors, required: true) ?? "",
            Kind = String(stage, "kind", path, errors, required: true) ?? "",
            Inputs = ReadInputs(stage["inputs"], $"{path}/inputs", errors),
            Needs = ReadNeeds(stage["needs"], $"{path}/needs", errors),
            Config = ReadConfig(stage["config"], $"{path}/config", errors),
            Resources = stage["resources"] is null ? new ResourceRequest() : ReadResources(stage["resources"], $"{path}/resources", errors),
            Retry = stage["retry"] is null ? new RetryPolicy() : ReadRetry(stage["retry"], $"{path}/retry", errors),
            Priority = Integer(stage, "priority", path, errors) ?? 0,
        };
    }

    private static Dictionary<string, InputBinding> ReadInputs(JsonNode? node, string path, List<SpecError> errors)
    {
        var inputs = new Dictionary<string, InputBinding>();
        if (node is null)
        {
            return inputs;
        }

        if (node is not JsonObject map)
        {
            errors.Add(new SpecError(path, "'inputs' must map input names to 'stage.output' references"));
            return inputs;
        }

        foreach (var (name, value) in map)
        {
            var inputPath = $"{path}/{name}";
            if (value is JsonArray list)
            {
                var references = list.Select((item, index) => Reference(item, $"{inputPath}/{index}", errors)).OfType<OutputReference>().ToList();
                inputs[name] = InputBinding.List(references);
            }
            else if (Reference(value, inputPath, errors) is { } reference)
            {
                inputs[name] = InputBinding.Single(reference);
            }
        }

        return inputs;
    }

    private static OutputReference? Reference(JsonNode? node, string path, List<SpecError> errors)
    {
        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.String
            && OutputReference.TryParse(value.GetValue<string>(), out var reference))
        {
            return reference;
        }

        errors.Add(new SpecError(path, $"{Describe(node)} is not a reference; write 'stage.output', e.g. data.web"));
        return null;
    }

    private static List<string> ReadNeeds(JsonNode? node, string path, List<SpecError> errors)
    {
        if (node is null)
        {
            return [];
        }

        if (node is not JsonArray list)
        {
            errors.Add(new SpecError(path, "'needs' must be a list of stage ids"));
            return [];
        }

        var needs = new List<string>();
        for (var index = 0; index < list.Count; index++)
        {
            if (list[index] is JsonValue value && value.GetValueKind() == JsonValueKind.String)
            {
                needs.Add(value.GetValue<string>());
            }
            else
            {
                errors.Add(new SpecError($"{path}/{index}", $"{Describe(list[index])} is not a stage id"));
            }
        }

        return needs;
    }

    private static JsonObject ReadConfig(JsonNode? node, string path, List<SpecError> errors)
    {
        if (node is null)
        {
            return [];
        }

        if (node is JsonObject config)
        {
            return config.DeepClone().AsObject();
        }

        errors.Add(new SpecError(path, "'config' must map option names to values"));
        return [];
    }

    private static ResourceRequest ReadResources(JsonNode? node, string path, List<SpecError> errors)
    {
        if (node is not JsonObject map)
        {
            errors.Add(new SpecError(path, "'resources' must be an object, e.g. { workers: 1, slots: 1, device: cpu }"));
            return new ResourceRequest();
        }

        UnknownKeys(map, path, ResourceKeys, "resources", errors);
        var defaults = new ResourceRequest();
        var device = String(map, "device", path, errors);
        var deviceKind = defaults.Device;
        if (device is not null && !Enum.TryParse(device, ignoreCase: true, out deviceKind))
        {
            errors.Add(new SpecError($"{path}/device", $"unknown device '{device}'; use any, cpu or cuda"));
        }

        return new ResourceRequest
        {
            Workers = Integer(map, "workers", path, errors) ?? defaults.Workers,
            Slots = Integer(map, "slots", path, errors) ?? defaults.Slots,
            Device = deviceKind,
            MemoryGib = Number(map, "memory_gib", path, errors) ?? defaults.MemoryGib,
            Labels = StringMap(map, "labels", path, errors),
        };
    }

    private static RetryPolicy ReadRetry(JsonNode? node, string path, List<SpecError> errors)
    {
        if (node is not JsonObject map)
        {
            errors.Add(new SpecError(path, "'retry' must be an object, e.g. { max_attempts: 3, initial_backoff: 10s }"));
            return new RetryPolicy();
        }

        UnknownKeys(map, path, RetryKeys, "retry", errors);
        var defaults = new RetryPolicy();
        return new RetryPolicy
        {
            MaxAttempts = Integer(map, "max_attempts", path, errors) ?? defaults.MaxAttempts,
            InitialBackoff = Duration(map, "initial_backoff", path, errors) ?? defaults.InitialBackoff,
            Multiplier = Number(map, "multiplier", path, errors) ?? defaults.Multiplier,
            MaxBackoff = Duration(map, "max_backoff", path, errors) ?? defaults.MaxBackoff,
        };
    }

    private static void UnknownKeys(JsonObject map, string path, string[] known, string what, List<SpecError> errors)
    {
        foreach (var key in map.Select(pair => pair.Key).Where(key => !known.Contains(key)))
        {
            errors.Add(new SpecError($"{path}/{key}", $"unknown field '{key}' in {what}; known fields: {string.Join(", ", known)}"));
        }
    }

    private static string? String(JsonObject map, string key, string path, List<SpecError> errors, bool required = false)
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

    private static int? Integer(JsonObject map, string key, string path, List<SpecError> errors)
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

    private static double? Number(JsonObject map, string key, string path, List<SpecError> errors)
    {
        if (map[key] is not { } node)
        {
            return null;
        }

        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number)
        {
            return JsonSerializer.SerializeToElement(value).GetDouble();
        }

        errors.Add(new SpecError($"{path}/{key}", $"'{key}' must be a number, but is {Describe(node)}"));
        return null;
    }

    private static TimeSpan? Duration(JsonObject map, string key, string path, List<SpecError> errors)
    {
        if (map[key] is not { } node)
        {
            return null;
        }

        if (node is JsonValue value)
        {
            if (value.GetValueKind() == JsonValueKind.Number)
            {
                return TimeSpan.FromSeconds(JsonSerializer.SerializeToElement(value).GetDouble());
            }

            if (value.GetValueKind() == JsonValueKind.String && Durations.TryParse(value.GetValue<string>(), out var duration))
            {
                return duration;
            }
        }

        errors.Add(new SpecError($"{path}/{key}", $"'{key}' must be a duration such as 500ms, 30s, 5m or 1h (or a number of seconds), but is {Describe(node)}"));
        return null;
    }

    private static Dictionary<string, string> StringMap(JsonObject map, string key, string path, List<SpecError> errors)
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

    internal static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "a list",
        JsonValue value when value.GetValueKind() == JsonValueKind.String => $"the string \"{value.GetValue<string>()}\"",
        _ => node.ToJsonString(),
    };
}

/// <summary>The spec read from a request, and every structural problem found.</summary>
public sealed record SpecReadResult(ExperimentSpec? Spec, IReadOnlyList<SpecError> Errors);
