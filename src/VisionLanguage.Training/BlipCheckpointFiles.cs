using System.Text.Json;
using System.Text.Json.Serialization;
using VisionLanguage.Models.Blip;

namespace VisionLanguage.Training;

/// <summary>The JSON part of a training checkpoint: everything but tensors that an exact resume needs, and what made it.</summary>
public sealed record BlipTrainerState
{
    public const string CurrentFormat = "blip.pretrain.checkpoint/1";

    public string Format { get; init; } = CurrentFormat;

    /// <summary>Optimiser steps taken; also the schedule's position.</summary>
    public required long Step { get; init; }

    public required int Epoch { get; init; }

    /// <summary>Micro-batches of <see cref="Epoch"/> each replica has consumed.</summary>
    public required long BatchInEpoch { get; init; }

    /// <summary>The seed the data side's sampler shuffles each epoch with.</summary>
    public required int SamplerSeed { get; init; }

    public required int Replicas { get; init; }

    public required long OptimizerStep { get; init; }

    /// <summary>Each replica's generator state (dropout masks, ITM negatives), base64, rank 0 first.</summary>
    public required IReadOnlyList<string> RngStates { get; init; }

    public required BlipModelConfig Model { get; init; }

    public required BlipSpecialTokens Tokens { get; init; }

    public required BlipTrainerSettings Settings { get; init; }

    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}

/// <summary>
/// The files of a BLIP training checkpoint: <c>model.safetensors</c> (trainable and momentum weights, ITC queues and
/// pointer, under LAVIS names), <c>optimizer.safetensors</c> (AdamW moments) and <c>trainer_state.json</c>.
/// </summary>
public static class BlipCheckpointFiles
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

    public static void WriteState(string directory, BlipTrainerState state) =>
        File.WriteAllText(Path.Combine(directory, State), JsonSerializer.Serialize(state, JsonOptions));

    public static BlipTrainerState ReadState(string directory)
    {
        var path = Path.Combine(directory, State);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"{directory} is not a BLIP training checkpoint: it has no {State} (expected {Weights}, {Optimizer} and {State})", path);
        }

        var state = JsonSerializer.Deserialize<BlipTrainerState>(File.ReadAllText(path), JsonOptions)
            ?? throw new InvalidDataException($"{path} is empty");
        return state.Format == BlipTrainerState.CurrentFormat
            ? state
            : throw new InvalidDataException($"{path} has format '{state.Format}'; this worker reads '{BlipTrainerState.CurrentFormat}'");
    }
}
