using System.Text.Json;
using System.Text.Json.Serialization;
using VisionLanguage.Models.Llm;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Blip2Finetunes;

/// <summary>
/// How a BLIP-2 stage that generates through its frozen LLM evaluated at its end, recorded beside its weights
/// (<see cref="FileName"/>) so that <c>evaluate</c> runs the same evaluation on its checkpoint: the text prompt
/// (stage 2's <c>caption_prompt</c>, the caption finetune's <c>prompt</c>, the VQA finetune's prompt with {} for the
/// question), the end token, the longest text, the LLM's dtype, the search, and (VQA) the longest question the
/// Q-Former reads. The task is <c>caption</c> or <c>vqa</c>.
/// </summary>
public sealed record Blip2LlmEvaluation(
    string Task, string Prompt, string EndToken, int MaxTextLength, ScalarType LlmDtype, LlmDecodingSettings Decoding, int? MaxQuestionLength = null)
{
    public const string FileName = "llm_evaluation.json";

    public const string Caption = "caption";

    public const string Vqa = "vqa";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter() },
    };

    public void Write(string output) => File.WriteAllText(Path.Combine(output, FileName), JsonSerializer.Serialize(this, Json));

    /// <summary>The record of the checkpoint in <paramref name="directory"/>; <paramref name="source"/> names it in errors.</summary>
    public static Blip2LlmEvaluation Read(string directory, string source)
    {
        var path = Path.Combine(directory, FileName);
        return File.Exists(path)
            ? JsonSerializer.Deserialize<Blip2LlmEvaluation>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path} is empty")
            : throw new InvalidDataException(
                $"{source} has no {FileName} saying how it was evaluated (prompt, end token, search): it was written before evaluate read BLIP-2 checkpoints; run its stage again");
    }
}
