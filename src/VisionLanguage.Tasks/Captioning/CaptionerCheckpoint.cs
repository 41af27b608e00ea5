using System.Text.Json;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Captioning;

/// <summary>
/// The files of a <c>blip.finetune.caption</c> output beyond a BLIP checkpoint's (<see cref="CheckpointFiles"/>
/// weights and state, <see cref="BlipVocabulary.FileName"/>): <c>captioner.json</c> with the prompt, and
/// <c>samples.json</c> with sample captions of the evaluation split.
/// </summary>
public static class CaptionerCheckpoint
{
    public const string CaptionerFile = "captioner.json";
    public const string SamplesFile = "samples.json";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>Writes the prompt (and its token count, which the LM loss skipped) beside the weights.</summary>
    public static void WritePrompt(string directory, CaptionPrompt prompt) =>
        File.WriteAllText(Path.Combine(directory, CaptionerFile), JsonSerializer.Serialize(new CaptionerFileContent(prompt.Text, prompt.Length), JsonOptions));

    public static void WriteSamples(string directory, IReadOnlyList<Evaluation.CaptionSample> samples) =>
        File.WriteAllText(Path.Combine(directory, SamplesFile), JsonSerializer.Serialize(samples, JsonOptions));

    /// <summary>
    /// Loads the captioner in <paramref name="directory"/> (a fetched <c>checkpoint.captioner</c>); throws, naming the
    /// missing file, when it is not one. The model is built on <paramref name="device"/> (the CPU when null).
    /// </summary>
    public static LoadedCaptioner Load(string directory, Device? device = null)
    {
        var promptPath = Path.Combine(directory, CaptionerFile);
        var vocabularyPath = Path.Combine(directory, BlipVocabulary.FileName);
        foreach (var path in new[] { promptPath, vocabularyPath })
        {
            if (!File.Exists(path))
            {
                throw new InvalidDataException(
                    $"{directory} is not a captioner checkpoint: it has no {Path.GetFileName(path)}; bind the output of a blip.finetune.caption stage");
            }
        }

        var content = JsonSerializer.Deserialize<CaptionerFileContent>(File.ReadAllText(promptPath), JsonOptions)
            ?? throw new InvalidDataException($"{promptPath} is empty");
        var (config, tokens, tokenizer) = BlipCheckpointFolder.Read(
            directory, directory, [BlipCaptionModel.Format, BlipPretrainModel.Format], "bind the output of a blip.finetune.caption stage");
        var model = BlipCheckpointFolder.LoadWeights<BlipCaptionModel, BlipPretrainBatch>(
            new BlipCaptionModel(config, tokens, seed: 0, content.PromptLength, device), directory);
        return new LoadedCaptioner(model, tokenizer, content.Prompt);
    }

    private sealed record CaptionerFileContent(string Prompt, int PromptLength);
}
