using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Contracts.Specs;
using static Orchestrator.Grains.Specs.SpecFields;

namespace Orchestrator.Grains.Specs;

/// <summary>
/// Reads a submitted spec (JSON or YAML) into an <see cref="ExperimentSpec"/>, collecting every structural
/// problem with its path instead of stopping at the first. Meaning (kinds, references, cycles) is checked
/// afterwards by <see cref="SpecValidator"/>.
/// </summary>
public static class SpecReader
{
    private static readonly string[] RootKeys = ["name", "stages", "labels"];
    private static readonly string[] StageKeys = ["id", "kind", "inputs", "needs", "config", "resources", "retry", "priority"];
    private static readonly string[] ResourceKeys = ["workers", "slots", "device", "memory_gib", "labels"];
    private static readonly string[] RetryKeys = ["max_attempts", "initial_backoff", "multiplier", "max_backoff"];

    /// <summary>Reads <paramref name="text"/> within the default <see cref="SpecLimits"/>.</summary>
    public static SpecReadResult Read(string text, SpecFormat format) => Read(text, format, SpecLimits.Default);

    /// <summary>
    /// Reads <paramref name="text"/>, stopping with one error as soon as it would pass one of <paramref name="limits"/>;
    /// the spec is null when an error makes it unreadable as a whole.
    /// </summary>
    public static SpecReadResult Read(string text, SpecFormat format, SpecLimits limits)
    {
        var parsed = SpecText.Parse(text, format, limits);
        var errors = new List<SpecError>();
        ExperimentSpec? spec = null;
        if (parsed.Error is not null)
        {
            errors.Add(parsed.Error);
        }
        else if (parsed.Root is JsonObject document)
        {
            spec = ReadExperiment(document, errors);
        }
        else
        {
            errors.Add(new SpecError("", "the spec must be an object with 'name' and 'stages'"));
        }

        return new SpecReadResult(spec, errors) { Nodes = parsed.Nodes, Depth = parsed.Depth, ExceededLimit = parsed.ExceededLimit };
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
}

/// <summary>The spec read from a request, and every structural problem found.</summary>
public sealed record SpecReadResult(ExperimentSpec? Spec, IReadOnlyList<SpecError> Errors)
{
    /// <summary>
    /// The nodes (mappings, lists, keys and values, alias copies included) the reader built before it finished or
    /// stopped; never more than <see cref="SpecLimits.MaxNodes"/>.
    /// </summary>
    public int Nodes { get; init; }

    /// <summary>The deepest nesting of lists and mappings the reader built; never more than <see cref="SpecLimits.MaxDepth"/>.</summary>
    public int Depth { get; init; }

    /// <summary>The <see cref="SpecLimits"/> setting that stopped the read, e.g. <c>SpecLimits:MaxNodes</c>; null if none did.</summary>
    public string? ExceededLimit { get; init; }
}
