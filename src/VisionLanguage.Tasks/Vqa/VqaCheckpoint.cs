using System.Text.Json;
using VisionLanguage.Data;
using VisionLanguage.Models.Blip;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Vqa;

/// <summary>
/// A <c>blip.finetune.vqa</c> output read back for inference: the model (weights, <c>trainer_state.json</c>,
/// <c>vocab.txt</c>) and how it answers (<see cref="AnsweringFile"/>: the inference method, the longest answer and the
/// candidate list ranking chooses from), in eval mode.
/// </summary>
public sealed class VqaCheckpoint : IDisposable
{
    /// <summary>How the output answers: the method, the longest answer and the candidate list.</summary>
    public const string AnsweringFile = "vqa.json";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    private VqaCheckpoint(BlipVqaModel model, BlipTokenizer tokenizer, VqaInferenceMethod inference, int maxAnswerLength, IReadOnlyList<string> answerList)
    {
        Model = model;
        Tokenizer = tokenizer;
        Inference = inference;
        MaxAnswerLength = maxAnswerLength;
        AnswerList = answerList;
    }

    public BlipVqaModel Model { get; }

    public BlipTokenizer Tokenizer { get; }

    /// <summary>How the finetune answered its evaluation questions.</summary>
    public VqaInferenceMethod Inference { get; }

    /// <summary>The longest answer, in tokens, counting [DEC] and [SEP].</summary>
    public int MaxAnswerLength { get; }

    /// <summary>The candidates ranking chooses from.</summary>
    public IReadOnlyList<string> AnswerList { get; }

    /// <summary>Writes <see cref="AnsweringFile"/> beside the weights.</summary>
    public static void WriteAnswering(string directory, VqaInferenceMethod inference, int maxAnswerLength, IReadOnlyList<string> answerList) =>
        File.WriteAllText(
            Path.Combine(directory, AnsweringFile),
            JsonSerializer.Serialize(new AnsweringContent(inference.ToString().ToLowerInvariant(), maxAnswerLength, answerList), Json));

    /// <summary>
    /// Loads the VQA model in <paramref name="directory"/> onto <paramref name="device"/> (the CPU when null);
    /// <paramref name="input"/> names it in errors.
    /// </summary>
    public static VqaCheckpoint Load(string directory, string input, Device? device = null)
    {
        const string Bind = "bind the output of a blip.finetune.vqa stage";
        var answeringPath = Path.Combine(directory, AnsweringFile);
        if (!File.Exists(answeringPath))
        {
            throw new InvalidDataException($"{input} is not a VQA checkpoint: it has no {AnsweringFile}; {Bind}");
        }

        var answering = JsonSerializer.Deserialize<AnsweringContent>(File.ReadAllText(answeringPath), Json)
            ?? throw new InvalidDataException($"{input}: {AnsweringFile} is empty; {Bind}");
        if (!Enum.TryParse<VqaInferenceMethod>(answering.Inference, ignoreCase: true, out var inference))
        {
            throw new InvalidDataException($"{input}: {AnsweringFile} names inference '{answering.Inference}', neither rank nor generate; {Bind}");
        }

        var (config, tokens, tokenizer) = BlipCheckpointFolder.Read(directory, input, [BlipVqaModel.Format], Bind);
        var model = BlipCheckpointFolder.LoadWeights<BlipVqaModel, BlipVqaBatch>(new BlipVqaModel(config, tokens, seed: 0, device), directory);
        return new VqaCheckpoint(model, tokenizer, inference, answering.MaxAnswerLength, answering.AnswerList ?? []);
    }

    public void Dispose() => Model.Dispose();

    private sealed record AnsweringContent(string Inference, int MaxAnswerLength, IReadOnlyList<string>? AnswerList);
}
