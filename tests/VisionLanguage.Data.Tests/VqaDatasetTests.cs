using SkiaSharp;
using VisionLanguage.Testing;

namespace VisionLanguage.Data.Tests;

public sealed class VqaDatasetTests : IDisposable
{
    private static readonly string[] Ten = ["red", "red", "red", "red", "red", "red", "red", "red", "orange", "red"];

    private readonly DataTestFolder _folder = new();

    [Fact]
    public void Entries_in_LAVIS_VQAv2_format_give_one_sample_per_question_and_one_id_per_image()
    {
        _folder.WritePng("root/a.png", 8, 8, SKColors.Red);
        _folder.WritePng("root/sub/b.png", 8, 8, SKColors.Blue);
        var file = _folder.WriteAnnotations("vqa.json",
            new { question_id = 262148000L, question = "  what color   is it? ", answer = Ten, image = "a.png", dataset = "vqa" },
            new { question_id = 7, question = "how many?", answer = new[] { " Two ", "2" }, image = "sub/b.png", question_type = "count", answer_type = "number" },
            new { question_id = 8, question = "what shape?", answer = new[] { "square" }, image = "a.png" });

        var annotations = VqaAnnotationReader.Read(file, _folder.PathOf("root"), BadDataPolicy.Fail, ImageDecoding.Check);

        Assert.Equal(["a.png", "sub/b.png"], annotations.ImageNames);
        Assert.Equal([_folder.PathOf("root/a.png"), _folder.PathOf("root/sub/b.png")], annotations.ImagePaths);
        // Questions are trimmed and collapsed; answers stay as written (the evaluation normalises them itself).
        Assert.Equal([(262148000L, 0, "what color is it?"), (7L, 1, "how many?"), (8L, 0, "what shape?")],
            annotations.Samples.Select(sample => (sample.QuestionId, sample.ImageId, sample.Question)));
        Assert.Equal(Ten, annotations.Samples[0].Answers);
        Assert.Equal([" Two ", "2"], annotations.Samples[1].Answers);
        Assert.Equal(("count", "number"), (annotations.Samples[1].QuestionType, annotations.Samples[1].AnswerType));
        Assert.Equal((null, null), (annotations.Samples[0].QuestionType, annotations.Samples[0].AnswerType));
        Assert.Empty(annotations.Skipped);
    }

    public static TheoryData<string, string, string?> BadEntries => new()
    {
        // entry 1 as JSON, expected problem (after "vqa.json: entry 1 (image '...'): "), image named
        { """{"question": "q?", "answer": ["x"], "image": "b.png"}""", "has no question id (\"question_id\" must be a whole number, as in VQAv2)", "b.png" },
        { """{"question_id": "5", "question": "q?", "answer": ["x"], "image": "b.png"}""", "has no question id (\"question_id\" must be a whole number, as in VQAv2)", "b.png" },
        { """{"question_id": 1.5, "question": "q?", "answer": ["x"], "image": "b.png"}""", "has no question id (\"question_id\" must be a whole number, as in VQAv2)", "b.png" },
        { """{"question_id": 1, "question": "q?", "answer": ["x"], "image": "b.png"}""", "repeats question id 1 of entry 0; question ids must be unique within a split", "b.png" },
        { """{"question_id": 2, "answer": ["x"], "image": "b.png"}""", "question 2 has no question text (\"question\" must be a non-empty string)", "b.png" },
        { """{"question_id": 2, "question": "   ", "answer": ["x"], "image": "b.png"}""", "question 2 has no question text (\"question\" must be a non-empty string)", "b.png" },
        { """{"question_id": 2, "question": "q?", "image": "b.png"}""",
            "question 2 has no answers (\"answer\" must be the list of the annotators' answers, e.g. \"answer\": [\"red\", \"red\", \"orange\"])", "b.png" },
        { """{"question_id": 2, "question": "q?", "answer": "red", "image": "b.png"}""",
            "question 2 has \"answer\" as a JSON String, not a list of strings; write the annotators' answers as a list, e.g. \"answer\": [\"red\", \"red\", \"orange\"]", "b.png" },
        { """{"question_id": 2, "question": "q?", "answer": ["red", 2], "image": "b.png"}""",
            "question 2 has an answer list holding a JSON Number (answer 1); every answer must be a string", "b.png" },
        { """{"question_id": 2, "question": "q?", "answer": [], "image": "b.png"}""",
            "question 2 has an empty answer list; give the annotators' answers, e.g. \"answer\": [\"red\", \"red\", \"orange\"]", "b.png" },
        { """{"question_id": 2, "question": "q?", "answer": ["red", " "], "image": "b.png"}""", "question 2 has an empty answer (answer 1)", "b.png" },
        { """{"question_id": 2, "question": "q?", "answer": ["red"], "image": "b.png", "question_type": 3}""",
            "question 2 has \"question_type\" as a JSON Number; it must be a string when given", "b.png" },
        { """{"question_id": 2, "question": "q?", "answer": ["red"]}""", "question 2 has no image path (\"image\" must be a non-empty string)", null },
        { """{"question_id": 2, "question": "q?", "answer": ["red"], "image": "missing.png"}""", "question 2: the image file '{root}/missing.png' does not exist", "missing.png" },
        { """{"question_id": 2, "question": "q?", "answer": ["red"], "image": "broken.png"}""",
            "question 2: the image file '{root}/broken.png' cannot be decoded as an image (not a recognised image format; PNG, JPEG, WebP, GIF and BMP are)", "broken.png" },
        { """{"question_id": 2, "question": "q?", "answer": ["red"], "image": "../outside.png"}""", "question 2: the image path leads outside the image root '{root}'", "../outside.png" },
        { """["not", "an", "object"]""", "is a JSON Array, not an object with \"question_id\", \"question\", \"answer\" and \"image\"", null },
    };

    [Theory]
    [MemberData(nameof(BadEntries))]
    public void A_bad_entry_fails_the_read_naming_the_file_the_entry_the_question_and_the_problem(string entry, string problem, string? image)
    {
        var (file, root) = WriteWithBadEntry(entry);

        var error = Assert.Throws<BadDataException>(() => VqaAnnotationReader.Read(file, root, BadDataPolicy.Fail, ImageDecoding.Check));

        var expected = problem.Replace("{root}", root, StringComparison.Ordinal);
        Assert.Equal(new BadDataEntry(file, 1, image, null, expected), error.Entry);
        var where = image is null ? "" : $" (image '{image}')";
        Assert.Equal($"{file}: entry 1{where}: {expected}. Fix the entry or its image, or set on_bad_data: skip to skip such entries and count them.", error.Message);
    }

    [Theory]
    [MemberData(nameof(BadEntries))]
    public void A_bad_entry_is_skipped_and_counted_and_the_rest_is_read(string entry, string problem, string? image)
    {
        var (file, root) = WriteWithBadEntry(entry);

        var annotations = VqaAnnotationReader.Read(file, root, BadDataPolicy.Skip, ImageDecoding.Check);

        Assert.Equal(new BadDataEntry(file, 1, image, null, problem.Replace("{root}", root, StringComparison.Ordinal)), Assert.Single(annotations.Skipped));
        Assert.Equal([1L, 3L], annotations.Samples.Select(sample => sample.QuestionId));
    }

    [Fact]
    public void A_file_that_is_not_a_json_list_is_an_error_naming_the_file_and_the_format()
    {
        var notList = _folder.WriteText("object.json", """{"questions": []}""");
        var missing = _folder.PathOf("nowhere.json");

        Assert.Equal(
            $"{notList}: a VQA annotation file must be a JSON list of {{\"question_id\": ..., \"question\": ..., \"answer\": [...], \"image\": ...}} objects (LAVIS's VQAv2 format), not a JSON Object",
            Assert.Throws<InvalidDataException>(() => VqaAnnotationReader.Read(notList, _folder.Root, BadDataPolicy.Skip)).Message);
        Assert.Equal($"annotation file '{missing}' does not exist; give the path of a VQA annotation JSON (LAVIS's VQAv2 format) on the worker",
            Assert.Throws<InvalidDataException>(() => VqaAnnotationReader.Read(missing, _folder.Root, BadDataPolicy.Skip)).Message);
    }

    [Fact]
    public async Task A_dataset_folder_lists_its_VQA_splits_and_opens_the_only_one_or_the_one_named()
    {
        var folder = _folder.PathOf("dataset");
        _folder.WritePng("dataset/images/a.png", 8, 8, SKColors.Red);
        _folder.WritePng("dataset/images/b.png", 8, 8, SKColors.Blue);
        await VqaAnnotationWriter.WriteSplitAsync(folder, "train", [new VqaAnnotationEntry(1, "what color?", Ten, "images/a.png") { QuestionType = "colour" }], CancellationToken.None);

        Assert.Equal(["train"], VqaDataset.Splits(folder));
        using (var only = VqaDataset.OpenFolder(folder, BadDataPolicy.Fail))
        {
            var sample = Assert.Single(only.Samples);
            Assert.Equal((1L, 0, "what color?", "colour"), (sample.QuestionId, sample.ImageId, sample.Question, sample.QuestionType));
            Assert.Equal([Path.Combine(folder, "images/a.png")], only.ImagePaths);
            using var pixels = only.LoadImages([0], ImageTransform.Eval(8));
            Assert.Equal([1L, 3, 8, 8], pixels.shape);
        }

        await VqaAnnotationWriter.WriteSplitAsync(folder, "val", [new VqaAnnotationEntry(2, "what color?", ["blue"], "images/b.png")], CancellationToken.None);
        Assert.Equal(["train", "val"], VqaDataset.Splits(folder));
        Assert.Equal($"dataset '{folder}' has several VQA splits (train, val); name the one to read",
            Assert.Throws<InvalidDataException>(() => VqaDataset.OpenFolder(folder, BadDataPolicy.Fail)).Message);
        Assert.Equal($"dataset '{folder}' has no VQA split 'test'; its VQA splits are: train, val",
            Assert.Throws<InvalidDataException>(() => VqaDataset.OpenFolder(folder, BadDataPolicy.Fail, "test")).Message);
        using var val = VqaDataset.OpenFolder(folder, BadDataPolicy.Fail, "val");
        Assert.Equal(["blue"], Assert.Single(val.Samples).Answers);

        // Both splits read together: images numbered on, question ids kept.
        using var both = VqaDataset.Open([VqaDatasetSource.Split(folder, "train"), VqaDatasetSource.Split(folder, "val")], BadDataPolicy.Fail);
        Assert.Equal([(1L, 0), (2L, 1)], both.Samples.Select(sample => (sample.QuestionId, sample.ImageId)));
    }

    [Fact]
    public void A_folder_without_VQA_splits_says_which_stages_write_them()
    {
        var folder = _folder.PathOf("captions");
        Directory.CreateDirectory(folder);

        Assert.Empty(VqaDataset.Splits(folder));
        Assert.Equal(
            $"dataset '{folder}' has no VQA split (no vqa/*.json); bind a dataset written by dataset.synthetic with vqa_questions above 0, or by dataset.import with format: vqa",
            Assert.Throws<InvalidDataException>(() => VqaDataset.OpenFolder(folder, BadDataPolicy.Fail)).Message);
        Assert.Null(VqaDataset.ReadAnswerList(folder));
    }

    [Fact]
    public async Task Splits_read_together_must_not_share_a_question_id()
    {
        var folder = _folder.PathOf("dataset");
        _folder.WritePng("dataset/images/a.png", 8, 8, SKColors.Red);
        await VqaAnnotationWriter.WriteSplitAsync(folder, "one", [new VqaAnnotationEntry(5, "q?", ["a"], "images/a.png")], CancellationToken.None);
        await VqaAnnotationWriter.WriteSplitAsync(folder, "two", [new VqaAnnotationEntry(5, "q?", ["a"], "images/a.png")], CancellationToken.None);

        var error = Assert.Throws<InvalidDataException>(() => VqaDataset.Open([VqaDatasetSource.Split(folder, "one"), VqaDatasetSource.Split(folder, "two")], BadDataPolicy.Fail));

        Assert.Equal($"question id 5 is in both {folder}/vqa/one.json and {folder}/vqa/two.json; question ids must be unique across the VQA splits read together", error.Message);
    }

    [Fact]
    public async Task The_answer_list_round_trips_and_a_malformed_one_is_named()
    {
        var folder = _folder.PathOf("dataset");
        Directory.CreateDirectory(folder);
        await VqaAnnotationWriter.WriteAnswerListAsync(folder, ["red", "2"], CancellationToken.None);

        Assert.Equal(["red", "2"], VqaDataset.ReadAnswerList(folder));

        _folder.WriteText("dataset/answer_list.json", """["red", 2]""");
        Assert.Equal($"{folder}/answer_list.json: the answer list must be a JSON list of strings",
            Assert.Throws<InvalidDataException>(() => VqaDataset.ReadAnswerList(folder)).Message);
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>Entries 0 and 2 are good (question ids 1 and 3); entry 1 is <paramref name="entry"/>.</summary>
    private (string File, string Root) WriteWithBadEntry(string entry)
    {
        _folder.WritePng("root/good.png", 8, 8, SKColors.Red);
        _folder.WritePng("root/b.png", 8, 8, SKColors.Blue);
        _folder.WriteText("root/broken.png", "this is not an image");
        _folder.WritePng("outside.png", 8, 8, SKColors.Red);
        var file = _folder.WriteText("vqa.json", $$"""
            [
              {"question_id": 1, "question": "q?", "answer": ["x"], "image": "good.png"},
              {{entry}},
              {"question_id": 3, "question": "q?", "answer": ["x"], "image": "good.png"}
            ]
            """);
        return (file, _folder.PathOf("root"));
    }
}
