using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace VisionLanguage.Models.Blip;

/// <summary>
/// What a BLIP checkpoint's <c>trainer_state.json</c> records of its model, beside the weights: the shapes and objective
/// settings (<c>model</c>) and the tokenizer's special ids (<c>tokens</c>), enough to rebuild the model for inference.
/// </summary>
public static class BlipCheckpointDescription
{
    /// <summary>snake_case names and enums, as every BLIP checkpoint has written them.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static JsonObject Of(BlipModelConfig config, BlipSpecialTokens tokens) => new()
    {
        ["model"] = JsonSerializer.SerializeToNode(config, Json),
        ["tokens"] = JsonSerializer.SerializeToNode(tokens, Json),
    };

    /// <summary>The model and tokens of a checkpoint's state, or an error naming <paramref name="source"/> and what is missing.</summary>
    public static (BlipModelConfig Model, BlipSpecialTokens Tokens) Read(JsonObject state, string source) =>
        (state["model"].Deserialize<BlipModelConfig>(Json) ?? throw new InvalidDataException($"{source} records no model"),
         state["tokens"].Deserialize<BlipSpecialTokens>(Json) ?? throw new InvalidDataException($"{source} records no tokens"));
}
