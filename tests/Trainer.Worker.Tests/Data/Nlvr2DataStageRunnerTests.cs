using Orchestrator.Contracts.Catalog.Options;
using SkiaSharp;
using Trainer.Worker.Runners;
using VisionLanguage.Data;
using VisionLanguage.Testing;

namespace Trainer.Worker.Tests.Data;

/// <summary>The data runners' NLVR2 side: synthetic NLVR2 splits, and <c>dataset.import</c> with <c>format: nlvr2</c>.</summary>
public sealed class Nlvr2DataStageRunnerTests : IDisposable
{
    private readonly DataTestFolder _folder = new();

    [Fact]
    public async Task The_synthetic_runner_writes_each_splits_NLVR2_pairs_and_the_import_runner_reads_them_back()
    {
        var options = SyntheticStageOptions.Of(seed: 3, images: 20, human: 6, test: 12);
        options.Nlvr2Pairs = 2;
        var synthetic = DataRunContext.Create("dataset.synthetic", options, _folder.PathOf("synthetic"));
        var written = await new SyntheticDatasetRunner().RunAsync(synthetic.Context, CancellationToken.None);
        Assert.Equal(40, written.Metrics["web_nlvr2_examples"]);
        Assert.Equal(20, written.Metrics["web_nlvr2_true"]);
        Assert.Equal(24, written.Metrics["test_nlvr2_examples"]);
        var test = await synthetic.Store.FetchAsync(written.Outputs["test"]);

        var import = DataRunContext.Create("dataset.import", new DatasetImportOptions
        {
            Annotations = Path.Combine(test.Directory, "nlvr2", "test.json"),
            ImageRoot = test.Directory,
            Format = DatasetFormat.Nlvr2,
        }, _folder.PathOf("import"));
        var result = await new DatasetImportRunner(new ImportRootGuard([test.Directory])).RunAsync(import.Context, CancellationToken.None);

        var imported = await import.Store.FetchAsync(Assert.Single(result.Outputs).Value);
        Assert.Equal(["test"], Nlvr2Dataset.Splits(imported.Directory));
        using var original = Nlvr2Dataset.Open(Nlvr2Dataset.SourcesOf([test.Directory], "test"), VisionLanguage.Data.BadDataPolicy.Fail);
        using var copy = Nlvr2Dataset.Open(Nlvr2Dataset.SourcesOf([imported.Directory], "copy"), VisionLanguage.Data.BadDataPolicy.Fail);
        Assert.Equal(
            original.Samples.Select(sample => (sample.Sentence, sample.Label, sample.Kind, File.ReadAllBytes(original.ImagePaths[sample.LeftImageId]).Length)),
            copy.Samples.Select(sample => (sample.Sentence, sample.Label, sample.Kind, File.ReadAllBytes(copy.ImagePaths[sample.LeftImageId]).Length)));
        Assert.Equal(original.ImagePaths.Select(File.ReadAllBytes), copy.ImagePaths.Select(File.ReadAllBytes));
        Assert.All(copy.ImagePaths, path => Assert.StartsWith(Path.Combine(imported.Directory, "images") + "/", path, StringComparison.Ordinal));
        var tokenizer = BlipTokenizer.FromVocabFile(Path.Combine(imported.Directory, BlipVocabulary.FileName));
        Assert.All(copy.Samples, sample => Assert.DoesNotContain(tokenizer.UnkId, tokenizer.Encode(sample.Sentence, 64)));
        Assert.Equal(new Dictionary<string, double>
        {
            ["entries"] = 24, ["skipped"] = 0, ["images"] = 12, ["nlvr2_examples"] = 24, ["nlvr2_true"] = 12,
        }, result.Metrics);
    }

    [Fact]
    public async Task A_malformed_NLVR2_entry_fails_the_import_naming_the_file_the_entry_and_the_fix_and_skip_counts_it()
    {
        _folder.WritePng("source/a.png", 8, 8, SKColors.Red);
        _folder.WritePng("source/b.png", 8, 8, SKColors.Blue);
        _folder.WriteText("source/nlvr_dev.json", """
            [{"images": ["a.png", "b.png"], "sentence": "the left image is red", "label": "True"},
             {"images": ["a.png", "b.png"], "sentence": "the right image is red", "label": "maybe"}]
            """);
        var options = new DatasetImportOptions { Annotations = _folder.PathOf("source/nlvr_dev.json"), ImageRoot = _folder.PathOf("source"), Format = DatasetFormat.Nlvr2 };
        var failing = DataRunContext.Create("dataset.import", options, _folder.PathOf("fail"));

        var error = await Assert.ThrowsAsync<BadDataException>(() => new DatasetImportRunner(Guard()).RunAsync(failing.Context, CancellationToken.None));

        Assert.Equal(
            $"{_folder.PathOf("source/nlvr_dev.json")}: entry 1 (image 'a.png'): has label \"maybe\"; it must be \"True\" or \"False\" (as NLVR2 writes it) or a JSON boolean. " +
            "Fix the entry or its image, or set on_bad_data: skip to skip such entries and count them.",
            error.Message);

        options.OnBadData = Orchestrator.Contracts.Catalog.Options.BadDataPolicy.Skip;
        var skipping = DataRunContext.Create("dataset.import", options, _folder.PathOf("skip"));
        var result = await new DatasetImportRunner(Guard()).RunAsync(skipping.Context, CancellationToken.None);
        Assert.Equal(1, result.Metrics["entries"]);
        Assert.Equal(1, result.Metrics["skipped"]);
        var local = await skipping.Store.FetchAsync(Assert.Single(result.Outputs).Value);
        Assert.Equal(["nlvr_dev"], Nlvr2Dataset.Splits(local.Directory));
    }

    public void Dispose() => _folder.Dispose();

    private ImportRootGuard Guard() => new([_folder.Root]);
}
