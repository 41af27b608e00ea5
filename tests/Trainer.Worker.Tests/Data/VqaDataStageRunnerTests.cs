using Orchestrator.Contracts.Catalog.Options;
using SkiaSharp;
using Trainer.Worker.Runners;
using VisionLanguage.Data;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Evaluation;
using VisionLanguage.Testing;

namespace Trainer.Worker.Tests.Data;

/// <summary>The data runners' VQA side: synthetic VQA splits, and <c>dataset.import</c> with <c>format: vqa</c>.</summary>
public sealed class VqaDataStageRunnerTests : IDisposable
{
    private readonly DataTestFolder _folder = new();

    [Fact]
    public async Task The_synthetic_runner_writes_each_splits_VQA_questions_and_their_metrics_when_asked()
    {
        var options = WithVqa(SyntheticStageOptions.Of(seed: 7, images: 40, human: 20, test: 10), questions: 2, disagreement: 0.2);
        var run = DataRunContext.Create("dataset.synthetic", options, _folder.Root);

        var result = await new SyntheticDatasetRunner().RunAsync(run.Context, CancellationToken.None);

        var plan = SyntheticDataset.Plan(BlipOptionsMapping.Synthetic(options));
        foreach (var manifest in await run.Store.ListAsync("exp-1", "data"))
        {
            var name = manifest.Draft.Name;
            var split = plan[name];
            var files = manifest.Files.Select(file => file.Path).ToHashSet();
            Assert.Contains(Path.Combine(VqaDataset.SplitFolder, name + ".json"), files);
            Assert.Contains(VqaDataset.AnswerListFile, files);

            // Two questions per image, or one where the scene has an unambiguous question of one kind only (a group whose
            // distractors share its shape and its colour has only the count).
            var questions = split.Questions.Count;
            Assert.Equal(split.Items.Sum(item => Math.Min(2, Enum.GetValues<VqaQuestionKind>().Count(kind => SceneQuestioner.Askable(item.Scene, kind).Count > 0))), questions);
            Assert.InRange(questions, split.Items.Count + 1, 2 * split.Items.Count);
            Assert.Equal(questions, manifest.Draft.Metrics["vqa_questions"]);
            Assert.Equal(10 * questions, manifest.Draft.Metrics["vqa_answers"]);
            // Exactly round(answers × 0.2) near answers: 10 · questions · 0.2 = 2 · questions, a whole number here.
            Assert.Equal(2 * questions, manifest.Draft.Metrics["vqa_near_answers"]);
            Assert.Equal(0.8, manifest.Draft.Metrics["vqa_agreement"], 12);
            Assert.Equal(manifest.Draft.Metrics["vqa_questions"], result.Metrics[$"{name}_vqa_questions"]);

            // The oracle (always the true answer) scored by the official metric against the committed annotators' answers.
            var local = await run.Store.FetchAsync(manifest.Reference);
            using var dataset = VqaDataset.OpenFolder(local.Directory, VisionLanguage.Data.BadDataPolicy.Fail);
            var truths = dataset.Samples.Select(sample => new VqaGroundTruth(sample.QuestionId, sample.Answers, sample.QuestionType)).ToList();
            var oracle = VqaAccuracy.Evaluate(truths, [.. split.Questions.Select(question => question.Answer)]).Accuracy;
            Assert.Equal(oracle, manifest.Draft.Metrics["vqa_oracle_accuracy"], 12);
            Assert.InRange(oracle, 0.95, 1.0);
        }
    }

    [Fact]
    public async Task The_import_runner_reads_back_what_the_synthetic_runner_wrote_as_a_VQA_split()
    {
        var options = WithVqa(SyntheticStageOptions.Of(seed: 3, images: 10, human: 5, test: 12), questions: 3, disagreement: 0.3);
        var synthetic = DataRunContext.Create("dataset.synthetic", options, _folder.PathOf("synthetic"));
        var written = await new SyntheticDatasetRunner().RunAsync(synthetic.Context, CancellationToken.None);
        var test = await synthetic.Store.FetchAsync(written.Outputs["test"]);

        var import = DataRunContext.Create("dataset.import", new DatasetImportOptions
        {
            Annotations = Path.Combine(test.Directory, "vqa", "test.json"),
            ImageRoot = test.Directory,
            Format = DatasetFormat.Vqa,
        }, _folder.PathOf("import"));
        var result = await new DatasetImportRunner(new ImportRootGuard([test.Directory])).RunAsync(import.Context, CancellationToken.None);

        var imported = await import.Store.FetchAsync(Assert.Single(result.Outputs).Value);
        Assert.Equal(["test"], VqaDataset.Splits(imported.Directory));
        using var original = VqaDataset.OpenFolder(test.Directory, VisionLanguage.Data.BadDataPolicy.Fail);
        using var copy = VqaDataset.OpenFolder(imported.Directory, VisionLanguage.Data.BadDataPolicy.Fail);
        Assert.Equal(Summary(original), Summary(copy));
        // The images now live under the import's images/ folder, byte for byte.
        Assert.All(copy.ImagePaths, path => Assert.StartsWith(Path.Combine(imported.Directory, "images", "images") + "/", path, StringComparison.Ordinal));
        Assert.Equal(original.ImagePaths.Select(File.ReadAllBytes), copy.ImagePaths.Select(File.ReadAllBytes));
        // The answer list: the split's distinct answers, most frequent first.
        var expectedList = original.Samples.SelectMany(sample => sample.Answers).GroupBy(answer => answer)
            .OrderByDescending(group => group.Count()).ThenBy(group => group.Key, StringComparer.Ordinal).Select(group => group.Key);
        Assert.Equal(expectedList, VqaDataset.ReadAnswerList(imported.Directory));
        var tokenizer = BlipTokenizer.FromVocabFile(Path.Combine(imported.Directory, BlipVocabulary.FileName));
        Assert.All(copy.Samples, sample => Assert.DoesNotContain(tokenizer.UnkId, tokenizer.Encode(sample.Question, 64)));
        Assert.Equal(new Dictionary<string, double>
        {
            ["entries"] = original.Count, ["skipped"] = 0, ["images"] = 12, ["questions"] = original.Count, ["answers"] = 10 * original.Count,
        }, result.Metrics);
    }

    [Fact]
    public async Task A_VQA_import_names_its_split_after_the_annotation_file()
    {
        _folder.WritePng("source/a.png", 8, 8, SKColors.Red);
        _folder.WriteText("source/v2 val (small).json", """[{"question_id": 1, "question": "what color?", "answer": ["red"], "image": "a.png"}]""");
        var run = DataRunContext.Create("dataset.import", VqaOptions("source/v2 val (small).json"), _folder.Root);

        var result = await new DatasetImportRunner(Guard()).RunAsync(run.Context, CancellationToken.None);

        var local = await run.Store.FetchAsync(Assert.Single(result.Outputs).Value);
        Assert.Equal(["v2_val__small_"], VqaDataset.Splits(local.Directory));
        Assert.False(File.Exists(Path.Combine(local.Directory, BlipAnnotationReader.FileName)));
    }

    [Fact]
    public async Task A_malformed_VQA_entry_fails_the_import_naming_the_file_the_entry_and_the_fix()
    {
        WriteVqaSource("""{"question_id": 2, "question": "what color?", "answer": "red", "image": "a.png"}""");
        var run = DataRunContext.Create("dataset.import", VqaOptions("source/vqa_train.json"), _folder.Root);

        var error = await Assert.ThrowsAsync<BadDataException>(() => new DatasetImportRunner(Guard()).RunAsync(run.Context, CancellationToken.None));

        Assert.Equal(
            $"{_folder.PathOf("source/vqa_train.json")}: entry 1 (image 'a.png'): question 2 has \"answer\" as a JSON String, not a list of strings; " +
            "write the annotators' answers as a list, e.g. \"answer\": [\"red\", \"red\", \"orange\"]. Fix the entry or its image, or set on_bad_data: skip to skip such entries and count them.",
            error.Message);
        Assert.Empty(await run.Store.ListAsync("exp-1", "data"));
    }

    [Fact]
    public async Task Under_skip_a_VQA_entry_without_its_image_is_left_out_and_counted()
    {
        WriteVqaSource("""{"question_id": 2, "question": "what shape?", "answer": ["square"], "image": "gone.png"}""");
        var options = VqaOptions("source/vqa_train.json");
        options.OnBadData = Orchestrator.Contracts.Catalog.Options.BadDataPolicy.Skip;
        var run = DataRunContext.Create("dataset.import", options, _folder.Root);

        var result = await new DatasetImportRunner(Guard()).RunAsync(run.Context, CancellationToken.None);

        Assert.Equal(new Dictionary<string, double> { ["entries"] = 1, ["skipped"] = 1, ["images"] = 1, ["questions"] = 1, ["answers"] = 2 }, result.Metrics);
        var local = await run.Store.FetchAsync(Assert.Single(result.Outputs).Value);
        using var dataset = VqaDataset.OpenFolder(local.Directory, VisionLanguage.Data.BadDataPolicy.Fail, "vqa_train");
        Assert.Equal([1L], dataset.Samples.Select(sample => sample.QuestionId));
    }

    [Fact]
    public async Task A_VQA_annotation_file_outside_the_import_roots_is_refused()
    {
        var annotations = _folder.WriteText("elsewhere/vqa_train.json", """[{"question_id": 1, "question": "q?", "answer": ["a"], "image": "a.png"}]""");
        var options = new DatasetImportOptions { Annotations = annotations, ImageRoot = _folder.PathOf("source"), Format = DatasetFormat.Vqa };
        var run = DataRunContext.Create("dataset.import", options, _folder.Root);

        var error = await Assert.ThrowsAsync<ImportPathRefusedException>(() => new DatasetImportRunner(Guard()).RunAsync(run.Context, CancellationToken.None));

        Assert.StartsWith($"annotations '{annotations}' is outside every import root; this worker reads imports only under its import roots: {_folder.PathOf("source")}", error.Message);
        Assert.Empty(await run.Store.ListAsync("exp-1", "data"));
    }

    [Fact]
    public async Task A_VQA_image_linked_out_of_the_import_roots_is_refused_even_under_skip()
    {
        _folder.WritePng("source/a.png", 8, 8, SKColors.Red);
        var outside = _folder.WritePng("elsewhere/secret.png", 8, 8, SKColors.Blue);
        File.CreateSymbolicLink(_folder.PathOf("source/b.png"), outside);
        _folder.WriteText("source/vqa_train.json", """
            [{"question_id": 1, "question": "q?", "answer": ["a"], "image": "a.png"},
             {"question_id": 2, "question": "q?", "answer": ["b"], "image": "b.png"}]
            """);
        var options = VqaOptions("source/vqa_train.json");
        options.OnBadData = Orchestrator.Contracts.Catalog.Options.BadDataPolicy.Skip;
        var run = DataRunContext.Create("dataset.import", options, _folder.Root);

        var error = await Assert.ThrowsAsync<ImportPathRefusedException>(() => new DatasetImportRunner(Guard()).RunAsync(run.Context, CancellationToken.None));

        Assert.StartsWith($"image '{_folder.PathOf("source/b.png")}' resolves to '{outside}', outside every import root", error.Message);
    }

    public void Dispose() => _folder.Dispose();

    private static SyntheticDatasetOptions WithVqa(SyntheticDatasetOptions options, int questions, double disagreement)
    {
        options.VqaQuestions = questions;
        options.VqaDisagreement = disagreement;
        return options;
    }

    private static List<string> Summary(VqaDataset dataset) =>
        [.. dataset.Samples.Select(s => $"{s.QuestionId}|{s.Question}|{string.Join(',', s.Answers)}|{s.QuestionType}|{s.AnswerType}|{Path.GetFileName(dataset.ImagePaths[s.ImageId])}")];

    /// <summary>A worker whose one import root is the test's <c>source</c> folder.</summary>
    private ImportRootGuard Guard() => new([_folder.PathOf("source")]);

    private DatasetImportOptions VqaOptions(string annotations) =>
        new() { Annotations = _folder.PathOf(annotations), ImageRoot = _folder.PathOf("source"), Format = DatasetFormat.Vqa };

    /// <summary><c>source/vqa_train.json</c>: a good entry (question 1, two answers) and <paramref name="second"/>.</summary>
    private void WriteVqaSource(string second)
    {
        _folder.WritePng("source/a.png", 8, 8, SKColors.Red);
        _folder.WriteText("source/vqa_train.json", $$"""
            [{"question_id": 1, "question": "what color?", "answer": ["red", "red"], "image": "a.png"},
             {{second}}]
            """);
    }
}
