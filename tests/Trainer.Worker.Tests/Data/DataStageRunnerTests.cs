using System.Text.Json;
using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Messages;
using SkiaSharp;
using Trainer.Worker.Runners;
using VisionLanguage.Data;
using VisionLanguage.Data.Synthetic;
using VisionLanguage.Tasks.Captioning;
using VisionLanguage.Testing;

namespace Trainer.Worker.Tests.Data;

public sealed class DataStageRunnerTests : IDisposable
{
    private readonly DataTestFolder _folder = new();

    [Fact]
    public async Task The_synthetic_runner_commits_web_human_and_test_datasets_with_their_metrics()
    {
        var options = SyntheticStageOptions.Of(seed: 7, images: 50, human: 20, test: 10, noise: 0.3);
        var run = DataRunContext.Create("dataset.synthetic", options, _folder.Root);

        var result = await new SyntheticDatasetRunner().RunAsync(run.Context, CancellationToken.None);

        Assert.Equal(["human", "test", "web"], result.Outputs.Keys.Order());
        var manifests = await run.Store.ListAsync("exp-1", "data");
        Assert.Equal(["human", "test", "web"], manifests.Select(manifest => manifest.Draft.Name).Order());
        Assert.All(manifests, manifest => Assert.Equal("dataset", manifest.Draft.Type));
        Assert.All(manifests, manifest => Assert.Equal(run.Context.OptionsHash, manifest.Draft.OptionsHash));

        var expected = new Dictionary<string, (int Images, int Captions, int Corrupted)> { ["web"] = (50, 50, 15), ["human"] = (20, 20, 0), ["test"] = (10, 20, 0) };
        foreach (var manifest in manifests)
        {
            var (images, captions, corrupted) = expected[manifest.Draft.Name];
            Assert.Equal(images, manifest.Draft.Metrics["images"]);
            Assert.Equal(captions, manifest.Draft.Metrics["captions"]);
            Assert.Equal(corrupted, manifest.Draft.Metrics["corrupted"]);

            var files = manifest.Files.Select(file => file.Path).ToHashSet();
            Assert.Contains(BlipAnnotationReader.FileName, files);
            Assert.Contains(BlipVocabulary.FileName, files);
            Assert.Contains(SyntheticSplit.ScenesFile, files);
            Assert.Equal(manifest.Draft.Name == "web", files.Contains(SyntheticSplit.CorruptionFile));
            // VQA questions only when asked for (vqa_questions above 0).
            Assert.DoesNotContain(files, file => file.StartsWith(VqaDataset.SplitFolder, StringComparison.Ordinal) || file == VqaDataset.AnswerListFile);
            Assert.Equal(images, files.Count(file => file.StartsWith("images" + Path.DirectorySeparatorChar, StringComparison.Ordinal)));

            // What was committed is a dataset the training pipeline opens and tokenizes.
            var local = await run.Store.FetchAsync(manifest.Reference);
            using var dataset = BlipDataset.OpenFolder(local.Directory, VisionLanguage.Data.BadDataPolicy.Fail);
            var tokenizer = BlipTokenizer.FromVocabFile(Path.Combine(local.Directory, BlipVocabulary.FileName));
            Assert.Equal((images, captions), (dataset.ImageCount, dataset.Count));
            Assert.All(dataset.Samples, sample => Assert.DoesNotContain(tokenizer.UnkId, tokenizer.Encode(sample.Caption, 32)));
        }

        Assert.Equal(15, result.Metrics["web_corrupted"]);
        var last = Assert.IsType<StageRunProgressed>(run.Reports[^1]);
        Assert.Equal((80L, 80L), (last.Step, last.TotalSteps!.Value));
    }

    [Fact]
    public async Task The_synthetic_runner_stops_when_cancelled()
    {
        var run = DataRunContext.Create("dataset.synthetic", SyntheticStageOptions.Of(seed: 1, images: 600), _folder.Root);
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new SyntheticDatasetRunner().RunAsync(run.Context, cancellation.Token));

        Assert.Empty(await run.Store.ListAsync("exp-1", "data"));
    }

    [Fact]
    public async Task The_import_runner_copies_the_images_and_writes_normalised_annotations_and_a_vocabulary()
    {
        _folder.WritePng("source/photos/a.png", 12, 10, SKColors.Red);
        _folder.WritePng("source/b.png", 10, 12, SKColors.Blue);
        _folder.WriteAnnotations("source/ann.json",
            new { image = "photos/a.png", caption = " a red  photo " },
            new { image = "b.png", caption = new[] { "a blue photo", "blue" } },
            new { image = "photos/a.png", caption = "red" });
        var run = DataRunContext.Create("dataset.import", ImportOptions(Orchestrator.Contracts.Catalog.Options.BadDataPolicy.Fail), _folder.Root);

        var result = await new DatasetImportRunner(Guard()).RunAsync(run.Context, CancellationToken.None);

        var local = await run.Store.FetchAsync(Assert.Single(result.Outputs).Value);
        Assert.Equal(File.ReadAllBytes(_folder.PathOf("source/photos/a.png")), File.ReadAllBytes(Path.Combine(local.Directory, "images/photos/a.png")));
        Assert.Equal(File.ReadAllBytes(_folder.PathOf("source/b.png")), File.ReadAllBytes(Path.Combine(local.Directory, "images/b.png")));
        using var annotations = JsonDocument.Parse(File.ReadAllText(Path.Combine(local.Directory, BlipAnnotationReader.FileName)));
        Assert.Equal(
            """[{"image":"images/photos/a.png","caption":"a red photo"},{"image":"images/b.png","caption":["a blue photo","blue"]},{"image":"images/photos/a.png","caption":"red"}]""",
            JsonSerializer.Serialize(annotations.RootElement));
        var vocabulary = File.ReadAllLines(Path.Combine(local.Directory, BlipVocabulary.FileName));
        Assert.Equal(BlipVocabulary.Build(["a red photo", "a blue photo", "blue", "red", "a picture of", "a photo of"]), vocabulary);
        // The captions never say "picture" or "of", yet a caption stage's default prompt is made of known words.
        var prompt = new Orchestrator.Contracts.Catalog.Options.BlipCaptionOptions().Prompt;
        Assert.Equal(4, CaptionPrompt.Tokenize(BlipTokenizer.FromTokens(vocabulary), prompt).Length);
        Assert.Throws<ArgumentException>(() => CaptionPrompt.Tokenize(BlipTokenizer.FromTokens(BlipVocabulary.Build(["a red photo"])), prompt));
        Assert.Equal(new Dictionary<string, double> { ["entries"] = 3, ["skipped"] = 0, ["images"] = 2, ["captions"] = 4 }, result.Metrics);
    }

    [Fact]
    public async Task The_import_runner_skips_and_counts_bad_entries_under_skip()
    {
        WriteSourceWithMissingImage();
        var run = DataRunContext.Create("dataset.import", ImportOptions(Orchestrator.Contracts.Catalog.Options.BadDataPolicy.Skip), _folder.Root);

        var result = await new DatasetImportRunner(Guard()).RunAsync(run.Context, CancellationToken.None);

        var manifest = Assert.Single(await run.Store.ListAsync("exp-1", "data"));
        Assert.Equal("dataset", manifest.Draft.Name);
        Assert.Equal(new Dictionary<string, double> { ["entries"] = 1, ["skipped"] = 1, ["images"] = 1, ["captions"] = 1 }, manifest.Draft.Metrics);
        Assert.Equal(manifest.Draft.Metrics, result.Metrics);
    }

    [Fact]
    public async Task The_import_runner_fails_on_a_bad_entry_under_fail_naming_it()
    {
        WriteSourceWithMissingImage();
        var run = DataRunContext.Create("dataset.import", ImportOptions(Orchestrator.Contracts.Catalog.Options.BadDataPolicy.Fail), _folder.Root);

        var error = await Assert.ThrowsAsync<BadDataException>(() => new DatasetImportRunner(Guard()).RunAsync(run.Context, CancellationToken.None));

        Assert.Equal(new BadDataEntry(_folder.PathOf("source/ann.json"), 1, "gone.png", null, $"the image file '{_folder.PathOf("source/gone.png")}' does not exist"), error.Entry);
        Assert.Empty(await run.Store.ListAsync("exp-1", "data"));
    }

    [Fact]
    public async Task The_import_runner_refuses_an_image_linked_out_of_the_import_roots_even_under_skip()
    {
        _folder.WritePng("source/a.png", 8, 8, SKColors.Red);
        var outside = _folder.WritePng("elsewhere/secret.png", 8, 8, SKColors.Blue);
        File.CreateSymbolicLink(_folder.PathOf("source/b.png"), outside);
        _folder.WriteAnnotations("source/ann.json", new { image = "a.png", caption = "red" }, new { image = "b.png", caption = "blue" });
        var run = DataRunContext.Create("dataset.import", ImportOptions(Orchestrator.Contracts.Catalog.Options.BadDataPolicy.Skip), _folder.Root);

        var error = await Assert.ThrowsAsync<ImportPathRefusedException>(() => new DatasetImportRunner(Guard()).RunAsync(run.Context, CancellationToken.None));

        Assert.StartsWith($"image '{_folder.PathOf("source/b.png")}' resolves to '{outside}', outside every import root; this worker reads imports only under its import roots: {_folder.PathOf("source")} (Worker:ImportRoots)", error.Message);
        Assert.Empty(await run.Store.ListAsync("exp-1", "data"));
    }

    [Fact]
    public async Task The_import_runner_refuses_an_annotation_file_outside_the_import_roots()
    {
        var annotations = _folder.WriteAnnotations("elsewhere/ann.json", new { image = "a.png", caption = "red" });
        var options = new DatasetImportOptions { Annotations = annotations, ImageRoot = _folder.PathOf("source") };
        var run = DataRunContext.Create("dataset.import", options, _folder.Root);

        var error = await Assert.ThrowsAsync<ImportPathRefusedException>(() => new DatasetImportRunner(Guard()).RunAsync(run.Context, CancellationToken.None));

        Assert.StartsWith($"annotations '{annotations}' is outside every import root; this worker reads imports only under its import roots: {_folder.PathOf("source")}", error.Message);
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>A worker whose one import root is the test's <c>source</c> folder.</summary>
    private ImportRootGuard Guard() => new([_folder.PathOf("source")]);

    private DatasetImportOptions ImportOptions(Orchestrator.Contracts.Catalog.Options.BadDataPolicy policy) =>
        new() { Annotations = _folder.PathOf("source/ann.json"), ImageRoot = _folder.PathOf("source"), OnBadData = policy };

    private void WriteSourceWithMissingImage()
    {
        _folder.WritePng("source/a.png", 8, 8, SKColors.Red);
        _folder.WriteAnnotations("source/ann.json", new { image = "a.png", caption = "red" }, new { image = "gone.png", caption = "gone" });
    }
}
