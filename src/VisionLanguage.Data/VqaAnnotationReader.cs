using System.Text.Json;

namespace VisionLanguage.Data;

/// <summary>
/// One question about one image: the unit a VQA pipeline samples. <see cref="ImageId"/> indexes the image in its
/// dataset; <see cref="Answers"/> are the annotators' answers as written (ten in VQAv2 and the synthetic dataset,
/// repeats included, since their counts are the answers' weights). <see cref="QuestionType"/> and
/// <see cref="AnswerType"/> are optional (VQAv2's own files have them; LAVIS's do not; the synthetic dataset's question
/// types are colour, shape, count and position).
/// </summary>
public sealed record VqaSample(long QuestionId, int ImageId, string Question, IReadOnlyList<string> Answers)
{
    public string? QuestionType { get; init; }

    public string? AnswerType { get; init; }
}

/// <summary>The usable content of a VQA annotation file: its distinct images, one sample per usable entry, and what was skipped.</summary>
public sealed record VqaAnnotations
{
    /// <summary>Each image's path as the annotation names it, relative to the image root (normalised to '/').</summary>
    public required IReadOnlyList<string> ImageNames { get; init; }

    /// <summary>Each image's full path on this machine.</summary>
    public required IReadOnlyList<string> ImagePaths { get; init; }

    /// <summary>One per usable entry, in file order.</summary>
    public required IReadOnlyList<VqaSample> Samples { get; init; }

    /// <summary>Entries left out under <see cref="BadDataPolicy.Skip"/>.</summary>
    public required IReadOnlyList<BadDataEntry> Skipped { get; init; }
}

/// <summary>
/// Reads a VQA annotation file in the format LAVIS uses for VQAv2 (<c>vqa_train.json</c>, <c>vqa_val.json</c>): a JSON
/// list of <c>{"question_id": 1, "question": "...", "answer": ["...", ...], "image": "relative/path.jpg"}</c>, with
/// optional <c>"question_type"</c> and <c>"answer_type"</c> strings; other keys (LAVIS's <c>"dataset"</c>) are ignored.
/// Questions are trimmed, with inner runs of white space collapsed; answers are kept as written (the VQA evaluation
/// normalises them itself). Every entry is checked: a whole-number question id not used by an earlier entry, a non-empty
/// question, a non-empty list of non-empty answer strings, and an image path that stays inside the image root and names
/// a file that exists (and, with an image check, decodes). A bad entry fails the read (<see cref="BadDataException"/>)
/// or is skipped and counted, per <see cref="BadDataPolicy"/>.
/// </summary>
public static class VqaAnnotationReader
{
    /// <summary>
    /// Reads <paramref name="annotationFile"/>, whose image paths are relative to <paramref name="imageRoot"/>.
    /// <paramref name="checkImage"/> is called once per distinct image file that exists, with its full path, and returns
    /// a problem (e.g. "cannot be decoded ...") or null; without it images are only checked to exist.
    /// </summary>
    public static VqaAnnotations Read(
        string annotationFile, string imageRoot, BadDataPolicy policy, Func<string, string?>? checkImage = null, CancellationToken cancellationToken = default)
    {
        using var document = AnnotationFiles.Parse(annotationFile, "a VQA annotation JSON (LAVIS's VQAv2 format)");
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException(
                $"{annotationFile}: a VQA annotation file must be a JSON list of {{\"question_id\": ..., \"question\": ..., \"answer\": [...], \"image\": ...}} " +
                $"objects (LAVIS's VQAv2 format), not a JSON {document.RootElement.ValueKind}");
        }

        var images = new AnnotationImages(imageRoot, checkImage);
        var samples = new List<VqaSample>();
        var skipped = new List<BadDataEntry>();
        var questionIds = new Dictionary<long, int>();

        void Bad(BadDataEntry bad)
        {
            if (policy == BadDataPolicy.Fail)
            {
                throw new BadDataException(bad);
            }

            skipped.Add(bad);
        }

        var index = -1;
        foreach (var element in document.RootElement.EnumerateArray())
        {
            cancellationToken.ThrowIfCancellationRequested();
            index++;
            if (element.ValueKind != JsonValueKind.Object)
            {
                Bad(new BadDataEntry(annotationFile, index, null, null,
                    $"is a JSON {element.ValueKind}, not an object with \"question_id\", \"question\", \"answer\" and \"image\""));
                continue;
            }

            var image = element.TryGetProperty("image", out var imageElement) && imageElement.ValueKind == JsonValueKind.String &&
                !string.IsNullOrWhiteSpace(imageElement.GetString())
                ? imageElement.GetString()
                : null;
            var problem = EntryProblem(element, image, questionIds, out var sample);
            if (problem is not null)
            {
                Bad(new BadDataEntry(annotationFile, index, image, null, problem));
                continue;
            }

            if (images.Check(image!, out var imageProblem) is not { } fullPath)
            {
                Bad(new BadDataEntry(annotationFile, index, image, null, $"question {sample!.QuestionId}: {imageProblem}"));
                continue;
            }

            questionIds[sample!.QuestionId] = index;
            samples.Add(sample with { ImageId = images.Use(fullPath) });
        }

        return new VqaAnnotations { ImageNames = images.Names, ImagePaths = images.Paths, Samples = samples, Skipped = skipped };
    }

    /// <summary>What is wrong with an entry's fields, or null and its sample (image id still unset).</summary>
    private static string? EntryProblem(JsonElement element, string? image, Dictionary<long, int> questionIds, out VqaSample? sample)
    {
        sample = null;
        if (!element.TryGetProperty("question_id", out var idElement) || idElement.ValueKind != JsonValueKind.Number || !idElement.TryGetInt64(out var questionId))
        {
            return "has no question id (\"question_id\" must be a whole number, as in VQAv2)";
        }

        if (questionIds.TryGetValue(questionId, out var earlier))
        {
            return $"repeats question id {questionId} of entry {earlier}; question ids must be unique within a split";
        }

        if (!element.TryGetProperty("question", out var questionElement) || questionElement.ValueKind != JsonValueKind.String ||
            BlipAnnotationReader.Normalize(questionElement.GetString()!) is not { Length: > 0 } question)
        {
            return $"question {questionId} has no question text (\"question\" must be a non-empty string)";
        }

        if (image is null)
        {
            return $"question {questionId} has no image path (\"image\" must be a non-empty string)";
        }

        if (AnswersProblem(element, out var answers) is { } answerProblem)
        {
            return $"question {questionId} {answerProblem}";
        }

        if (OptionalString(element, "question_type", out var questionType) is { } questionTypeProblem)
        {
            return $"question {questionId} {questionTypeProblem}";
        }

        if (OptionalString(element, "answer_type", out var answerType) is { } answerTypeProblem)
        {
            return $"question {questionId} {answerTypeProblem}";
        }

        sample = new VqaSample(questionId, -1, question, answers) { QuestionType = questionType, AnswerType = answerType };
        return null;
    }

    private static string? AnswersProblem(JsonElement element, out List<string> answers)
    {
        answers = [];
        const string Example = "e.g. \"answer\": [\"red\", \"red\", \"orange\"]";
        if (!element.TryGetProperty("answer", out var answer))
        {
            return $"has no answers (\"answer\" must be the list of the annotators' answers, {Example})";
        }

        if (answer.ValueKind != JsonValueKind.Array)
        {
            return $"has \"answer\" as a JSON {answer.ValueKind}, not a list of strings; write the annotators' answers as a list, {Example}";
        }

        var position = 0;
        foreach (var item in answer.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return $"has an answer list holding a JSON {item.ValueKind} (answer {position}); every answer must be a string";
            }

            if (string.IsNullOrWhiteSpace(item.GetString()))
            {
                return $"has an empty answer (answer {position})";
            }

            answers.Add(item.GetString()!);
            position++;
        }

        return answers.Count == 0 ? $"has an empty answer list; give the annotators' answers, {Example}" : null;
    }

    private static string? OptionalString(JsonElement element, string name, out string? value)
    {
        value = null;
        if (!element.TryGetProperty(name, out var property) || property.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (property.ValueKind != JsonValueKind.String)
        {
            return $"has \"{name}\" as a JSON {property.ValueKind}; it must be a string when given";
        }

        value = property.GetString();
        return null;
    }
}
