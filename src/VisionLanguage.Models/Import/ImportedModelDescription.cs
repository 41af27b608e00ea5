using System.Text.Json;
using System.Text.Json.Serialization;
using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Llm;
using VisionLanguage.Models.Vit;

namespace VisionLanguage.Models.Import;

/// <summary>
/// An imported model as its artifact describes it (<see cref="CheckpointImport.DescriptionFile"/>): the architecture and
/// the shape read from its config; an image encoder has <see cref="Vision"/>, a text encoder <see cref="Text"/>, an
/// OPT-architecture LLM <see cref="Opt"/>, a T5 <see cref="T5"/>.
/// </summary>
public sealed record ImportedModelDescription
{
    public const string CurrentFormat = "imported.model/1";

    public string Format { get; init; } = CurrentFormat;

    public required string Architecture { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ImageEncoderFamily? Family { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public VitConfig? Vision { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public BertTextConfig? Text { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public OptConfig? Opt { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public T5Config? T5 { get; init; }

    /// <summary>Checkpoint tensors the model does not use (a CLIPModel's text tower, a BERT pooler), by count.</summary>
    public int IgnoredTensors { get; init; }

    /// <summary>Every file read, with its size and SHA-256, as it was in the imported folder.</summary>
    public IReadOnlyList<ImportedFile> Source { get; init; } = [];

    /// <summary>The description in <paramref name="folder"/>, or null when the folder is not an imported model.</summary>
    public static ImportedModelDescription? TryRead(string folder)
    {
        var path = Path.Combine(folder, CheckpointImport.DescriptionFile);
        if (!File.Exists(path))
        {
            return null;
        }

        var description = JsonSerializer.Deserialize<ImportedModelDescription>(File.ReadAllText(path), BlipCheckpointDescription.Json)
            ?? throw new InvalidDataException($"{path} is empty");
        return description.Format == CurrentFormat
            ? description
            : throw new InvalidDataException($"{path} has format '{description.Format}'; this worker reads {CurrentFormat}; import the model again");
    }

    public void Write(string folder) =>
        File.WriteAllText(Path.Combine(folder, CheckpointImport.DescriptionFile), JsonSerializer.Serialize(this, BlipCheckpointDescription.Json));
}

/// <summary>A BERT text encoder's shape (HF <c>BertConfig</c>).</summary>
public sealed record BertTextConfig
{
    public int VocabSize { get; init; } = 30_522;

    public int HiddenSize { get; init; } = 768;

    public int Layers { get; init; } = 12;

    public int Heads { get; init; } = 12;

    public int IntermediateSize { get; init; } = 3072;

    public int MaxPositionEmbeddings { get; init; } = 512;

    public int TypeVocabSize { get; init; } = 2;

    public double LayerNormEps { get; init; } = 1e-12;
}

/// <summary>A file an import read: its name in the folder, size and SHA-256.</summary>
public sealed record ImportedFile(string Name, long Bytes, string Sha256);
