using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace VisionLanguage.Training;

/// <summary>
/// The JSON part of a training checkpoint: everything but tensors that an exact resume needs, what trained it, and what
/// the model records of itself (<see cref="Models.ITrainableModel{TBatch}.Describe"/>: a BLIP model its
/// <c>model</c> shapes and <c>tokens</c>), kept as the file's other top-level members.
/// </summary>
public sealed record TrainerState
{
    /// <summary>The model the checkpoint holds, e.g. <c>blip.pretrain.checkpoint/1</c>.</summary>
    public required string Format { get; init; }

    /// <summary>Optimiser steps taken; also the schedule's position.</summary>
    public required long Step { get; init; }

    public required int Epoch { get; init; }

    /// <summary>Micro-batches of <see cref="Epoch"/> each replica has consumed.</summary>
    public required long BatchInEpoch { get; init; }

    /// <summary>The seed the data side's sampler shuffles each epoch with.</summary>
    public required int SamplerSeed { get; init; }

    public required int Replicas { get; init; }

    public required long OptimizerStep { get; init; }

    /// <summary>Each replica's generator state (dropout masks, sampled negatives), base64, rank 0 first.</summary>
    public required IReadOnlyList<string> RngStates { get; init; }

    public required TrainerSettings Settings { get; init; }

    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>What the model records of itself; its members sit at the top level of the file, beside the trainer's.</summary>
    [JsonIgnore]
    public JsonObject Model { get; init; } = [];
}

/// <summary>
/// The files of a training checkpoint: <c>model.safetensors</c> (the model's weights and buffers under its reference
/// names), <c>optimizer.safetensors</c> (AdamW moments) and <c>trainer_state.json</c> (<see cref="TrainerState"/>).
/// </summary>
public static class CheckpointFiles
{
    public const string Weights = "model.safetensors";
    public const string Optimizer = "optimizer.safetensors";
    public const string State = "trainer_state.json";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static void WriteState(string directory, TrainerState state)
    {
        var json = JsonSerializer.SerializeToNode(state, JsonOptions)!.AsObject();
        foreach (var (name, value) in state.Model)
        {
            json[name] = value?.DeepClone();
        }

        File.WriteAllText(Path.Combine(directory, State), json.ToJsonString(JsonOptions));
    }

    /// <summary>The state of the checkpoint in <paramref name="directory"/>, whatever model it holds.</summary>
    public static TrainerState ReadState(string directory)
    {
        var path = Path.Combine(directory, State);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"{directory} is not a training checkpoint: it has no {State} (expected {Weights}, {Optimizer} and {State})", path);
        }

        var json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path} is not a JSON object");
        var state = json.Deserialize<TrainerState>(JsonOptions) ?? throw new InvalidDataException($"{path} is empty");
        var trainerMembers = JsonSerializer.SerializeToNode(state, JsonOptions)!.AsObject().Select(member => member.Key).ToHashSet(StringComparer.Ordinal);
        var model = new JsonObject();
        foreach (var (name, value) in json.Where(member => !trainerMembers.Contains(member.Key)))
        {
            model[name] = value?.DeepClone();
        }

        return state with { Model = model };
    }

    /// <summary>
    /// The state of the checkpoint in <paramref name="directory"/>, which must hold a model of <paramref name="formats"/>
    /// (the expected one first, then older formats that hold the same model); otherwise an error naming both.
    /// </summary>
    public static TrainerState ReadState(string directory, IReadOnlyList<string> formats)
    {
        var state = ReadState(directory);
        return formats.Contains(state.Format)
            ? state
            : throw new InvalidDataException(
                $"{Path.Combine(directory, State)} holds a model of format '{state.Format}'; this model reads '{string.Join("' or '", formats)}': " +
                "resume a run from a checkpoint of its own kind, or bind the checkpoint as a stage's 'init' instead");
    }
}
