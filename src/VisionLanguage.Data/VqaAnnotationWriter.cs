using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VisionLanguage.Data;

/// <summary>
/// An entry of a VQA annotation file in LAVIS's VQAv2 format; the property names are the file's keys
/// (<c>question_id</c>, <c>question</c>, <c>answer</c>, <c>image</c>, and, when set, <c>question_type</c> and <c>answer_type</c>).
/// </summary>
public sealed record VqaAnnotationEntry(long QuestionId, string Question, IReadOnlyList<string> Answer, string Image)
{
    public string? QuestionType { get; init; }

    public string? AnswerType { get; init; }
}

/// <summary>Writes VQA splits and answer lists in the files <see cref="VqaDataset"/> and <see cref="VqaAnnotationReader"/> read.</summary>
public static class VqaAnnotationWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes split <paramref name="split"/> of dataset artifact <paramref name="folder"/> (<c>vqa/SPLIT.json</c>, folder created).</summary>
    public static async Task WriteSplitAsync(string folder, string split, IEnumerable<VqaAnnotationEntry> entries, CancellationToken cancellationToken)
    {
        if (split.Length == 0 || split.IndexOfAny([.. Path.GetInvalidFileNameChars(), '/', '\\']) >= 0 || split is "." or "..")
        {
            throw new ArgumentException($"'{split}' cannot name a VQA split; use a file name without a folder", nameof(split));
        }

        var path = VqaDatasetSource.Split(folder, split).AnnotationFile;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var stream = File.Create(path);
        await JsonSerializer.SerializeAsync(stream, entries, Json, cancellationToken);
    }

    /// <summary>Writes <see cref="VqaDataset.AnswerListFile"/> into <paramref name="folder"/>.</summary>
    public static async Task WriteAnswerListAsync(string folder, IReadOnlyList<string> answers, CancellationToken cancellationToken)
    {
        await using var stream = File.Create(Path.Combine(folder, VqaDataset.AnswerListFile));
        await JsonSerializer.SerializeAsync(stream, answers, Json, cancellationToken);
    }
}
