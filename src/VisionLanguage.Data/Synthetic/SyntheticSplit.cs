using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VisionLanguage.Data.Synthetic;

/// <summary>
/// One split of a <see cref="SyntheticDataset"/>, written as a dataset artifact folder: <c>images/</c> (PNG),
/// <c>annotations.json</c> in BLIP format (a caption list per image when the split has several captions per image),
/// <c>scenes.json</c> (what each image shows, object by object: the ground truth behind the captions),
/// <c>vocab.txt</c>, and for a noisy split <c>corruption.json</c> (which captions were corrupted, how, and from what).
/// A split with VQA questions also has <c>vqa/NAME.json</c> (LAVIS's VQAv2 format, with <c>question_type</c> and
/// <c>answer_type</c>; <see cref="VqaDataset"/> reads it) and <c>answer_list.json</c> (every possible true answer). A split
/// with NLVR2 examples also has <c>nlvr2/NAME.json</c> (BLIP's NLVR2 format, with <c>kind</c>; <see cref="Nlvr2Dataset"/> reads it).
/// </summary>
public sealed class SyntheticSplit
{
    public const string ScenesFile = "scenes.json";
    public const string CorruptionFile = "corruption.json";

    /// <summary>Images rendered between two progress reports.</summary>
    private const int Chunk = 250;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    private readonly int _imageSize;
    private readonly bool _captionLists;

    internal SyntheticSplit(string name, IReadOnlyList<SyntheticItem> items, int imageSize, bool captionLists)
    {
        Name = name;
        Items = items;
        _imageSize = imageSize;
        _captionLists = captionLists;
        Corruptions = [.. items.Select(item => item.Corruption).OfType<CaptionCorruption>()];
        Questions = [.. items.SelectMany(item => item.Questions)];
    }

    /// <summary>The split's name, which is also its output name: web, human or test.</summary>
    public string Name { get; }

    public IReadOnlyList<SyntheticItem> Items { get; }

    /// <summary>The corrupted captions, by image index.</summary>
    public IReadOnlyList<CaptionCorruption> Corruptions { get; }

    /// <summary>The VQA questions about the split's images, in image order; empty without VQA.</summary>
    public IReadOnlyList<SyntheticQuestion> Questions { get; }

    /// <summary>The NLVR2 examples over the split's images; empty without NLVR2.</summary>
    public IReadOnlyList<SyntheticNlvr2Pair> Nlvr2Pairs { get; init; } = [];

    /// <summary>
    /// What the split's artifact records as metrics: images, captions, and corrupted captions by kind; with VQA also
    /// <c>vqa_questions</c> (and per kind, <c>vqa_questions_colour</c> ...), <c>vqa_answers</c>, <c>vqa_near_answers</c> and
    /// <c>vqa_agreement</c>, the share of answers that are the true one as written; with NLVR2 <c>nlvr2_examples</c> and per kind
    /// <c>nlvr2_true</c> (the true statements), <c>nlvr2_other_image</c> and <c>nlvr2_wrong_count</c>.
    /// </summary>
    public IReadOnlyDictionary<string, double> Metrics()
    {
        var metrics = new Dictionary<string, double>
        {
            ["images"] = Items.Count,
            ["captions"] = Items.Sum(item => item.Captions.Count),
            ["corrupted"] = Corruptions.Count,
            ["corrupted_share"] = Items.Count == 0 ? 0 : (double)Corruptions.Count / Items.Count,
        };
        foreach (var kind in Enum.GetValues<CorruptionKind>())
        {
            metrics[$"corrupted_{kind.ToString().ToLowerInvariant()}"] = Corruptions.Count(corruption => corruption.Kind == kind);
        }

        if (Questions.Count > 0)
        {
            var answers = Questions.Sum(question => question.Answers.Count);
            var agreeing = Questions.Sum(question => question.Answers.Count(answer => answer == question.Answer));
            metrics["vqa_questions"] = Questions.Count;
            metrics["vqa_answers"] = answers;
            metrics["vqa_near_answers"] = answers - agreeing;
            metrics["vqa_agreement"] = (double)agreeing / answers;
            foreach (var kind in Enum.GetValues<VqaQuestionKind>())
            {
                metrics[$"vqa_questions_{kind.ToString().ToLowerInvariant()}"] = Questions.Count(question => question.Kind == kind);
            }
        }

        if (Nlvr2Pairs.Count > 0)
        {
            metrics["nlvr2_examples"] = Nlvr2Pairs.Count;
            foreach (var kind in Enum.GetValues<Nlvr2StatementKind>())
            {
                metrics[$"nlvr2_{SyntheticNlvr2Pair.NameOf(kind)}"] = Nlvr2Pairs.Count(pair => pair.Kind == kind);
            }
        }

        return metrics;
    }

    /// <summary>
    /// Renders and writes the split into <paramref name="directory"/> (created if needed), rendering on every core;
    /// <paramref name="progress"/> gets the number of images written so far after each chunk.
    /// </summary>
    public async Task WriteAsync(string directory, IReadOnlyList<string> vocabulary, Func<int, Task> progress, CancellationToken cancellationToken)
    {
        var images = Path.Combine(directory, "images");
        Directory.CreateDirectory(images);
        var parallel = new ParallelOptions { CancellationToken = cancellationToken };
        for (var start = 0; start < Items.Count; start += Chunk)
        {
            var end = Math.Min(Items.Count, start + Chunk);
            await Parallel.ForAsync(start, end, parallel, async (index, token) =>
            {
                var item = Items[index];
                var png = SceneRenderer.RenderPng(item.Scene, _imageSize);
                await File.WriteAllBytesAsync(Path.Combine(directory, item.Image), png, token);
            });
            await progress(end);
        }

        await WriteJsonAsync(Path.Combine(directory, BlipAnnotationReader.FileName), Items.Select(item => new AnnotationEntry(
            item.Image, _captionLists ? item.Captions : item.Captions[0])).ToList(), cancellationToken);
        await WriteJsonAsync(Path.Combine(directory, ScenesFile), Items.Select(SceneEntry.Of).ToList(), cancellationToken);
        if (Corruptions.Count > 0)
        {
            await WriteJsonAsync(Path.Combine(directory, CorruptionFile), new CorruptionReport(
                Items.Count, Corruptions.Count, Corruptions), cancellationToken);
        }

        if (Questions.Count > 0)
        {
            await VqaAnnotationWriter.WriteSplitAsync(directory, Name, Questions.Select(question => question.ToEntry()), cancellationToken);
            await VqaAnnotationWriter.WriteAnswerListAsync(directory, SceneQuestioner.AnswerList, cancellationToken);
        }

        if (Nlvr2Pairs.Count > 0)
        {
            await Nlvr2AnnotationWriter.WriteSplitAsync(directory, Name, Nlvr2Pairs.Select(pair => pair.ToEntry()), cancellationToken);
        }

        BlipVocabulary.Write(Path.Combine(directory, BlipVocabulary.FileName), vocabulary);
    }

    private static async Task WriteJsonAsync<T>(string path, T value, CancellationToken cancellationToken)
    {
        await using var stream = File.Create(path);
        await JsonSerializer.SerializeAsync(stream, value, Json, cancellationToken);
    }

    /// <summary>A BLIP annotation entry; the caption is a string or a list of strings.</summary>
    private sealed record AnnotationEntry(string Image, object Caption);

    /// <summary><c>corruption.json</c>: the split's size, how many captions were corrupted, and each corruption.</summary>
    private sealed record CorruptionReport(int Images, int Corrupted, IReadOnlyList<CaptionCorruption> Entries);

    /// <summary>An entry of <c>scenes.json</c>.</summary>
    internal sealed record SceneEntry(
        string Image,
        SceneLayout Layout,
        int Count,
        Placement? Placement,
        Relation? Relation,
        IReadOnlyList<ShapeEntry> Objects,
        IReadOnlyList<ShapeEntry> Distractors)
    {
        public static SceneEntry Of(SyntheticItem item)
        {
            var description = item.Scene.Description;
            ShapeSize?[] sizes = description.Layout == SceneLayout.Pair
                ? [description.First.Size, description.Second!.Value.Size]
                : [.. item.Scene.Objects.Select(_ => (ShapeSize?)description.First.Size)];
            return new SceneEntry(
                item.Image,
                description.Layout,
                description.Count,
                description.Placement,
                description.Relation,
                [.. item.Scene.Objects.Select((shape, i) => ShapeEntry.Of(shape, sizes[i]))],
                [.. item.Scene.Distractors.Select(shape => ShapeEntry.Of(shape, size: null))]);
        }
    }

    /// <summary>A drawn shape in <c>scenes.json</c>: centre and radius as shares of the side, colour as #rrggbb.</summary>
    internal sealed record ShapeEntry(ShapeKind Shape, ShapeColour Colour, ShapeSize? Size, double X, double Y, double Radius, double Rotation, string Rgb)
    {
        public static ShapeEntry Of(PlacedShape shape, ShapeSize? size) =>
            new(shape.Shape, shape.Colour, size, shape.X, shape.Y, shape.Radius, shape.Rotation, $"#{shape.R:x2}{shape.G:x2}{shape.B:x2}");
    }
}
