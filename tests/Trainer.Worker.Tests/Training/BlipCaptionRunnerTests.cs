using System.Text.Json;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Runners;
using Trainer.Worker.Tests.Data;
using VisionLanguage.Data;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Tasks.Captioning;
using VisionLanguage.Tasks.Pretraining;
using VisionLanguage.Testing;
using VisionLanguage.Training;

namespace Trainer.Worker.Tests.Training;

public sealed class BlipCaptionRunnerTests : IDisposable
{
    private const string Shape = """
        "image_size":16,"patch_size":8,"vision_width":32,"vision_depth":1,"vision_heads":2,"text_width":32,"text_layers":1,"text_heads":2,"embed_dim":16
        """;

    private static readonly string PretrainJson = $$"""{{{Shape}},"epochs":1,"batch_size":8,"queue_size":16,"warmup_steps":1,"learning_rate":0.001}""";

    /// <summary>The captioner takes its shape from the pretrained checkpoint; only the image side is given again.</summary>
    private static readonly string CaptionJson = $$"""
        {"image_size":16,"epochs":5,"batch_size":8,"warmup_steps":1,"learning_rate":0.003,"checkpoint_every_steps":4,"beam_size":2,"max_length":14}
        """;

    private readonly DataTestFolder _folder = new();
    private readonly StageChain _chain;

    public BlipCaptionRunnerTests() => _chain = new StageChain(_folder.Root);

    [Fact]
    public async Task A_caption_finetune_learns_evaluates_writes_the_captioner_and_resumes_to_the_same_bits()
    {
        var (splits, pretrained) = await PretrainAsync(human: 32, test: 6);
        var inputs = new Dictionary<string, IReadOnlyList<ArtifactReference>>
        {
            ["init"] = [pretrained.Outputs["checkpoint"]],
            ["train"] = [splits["human"]],
            ["eval"] = [splits["test"]],
        };
        var runner = new BlipCaptionRunner();

        var (result, runId) = await _chain.RunAsync(runner, "captioner", CaptionJson, inputs);

        // 32 pairs in batches of 8 for 5 epochs: 20 steps, LM alone, and the loss fell.
        var progress = _chain.Reports[runId].OfType<StageRunProgressed>().ToList();
        Assert.Equal(20, progress.Count);
        Assert.All(progress, report => Assert.False(report.Metrics.ContainsKey("loss_itc") || report.Metrics.ContainsKey("loss_itm")));
        var first = progress.Take(4).Average(report => report.Metrics["loss_lm"]);
        var last = progress.TakeLast(4).Average(report => report.Metrics["loss_lm"]);
        Assert.True(last < 0.9 * first, $"loss_lm {first:F3} → {last:F3}");
        Assert.InRange(result.Metrics["eval_bleu4"], 0.0, 1.0);
        Assert.InRange(result.Metrics["eval_cider"], 0.0, 10.0);
        Assert.Equal(6, result.Metrics["eval_images"]);

        var output = await _chain.Store.FetchAsync(result.Outputs["checkpoint"]);
        Assert.Equal("checkpoint.blip.captioner", result.Outputs["checkpoint"].Type);
        Assert.Equal(
            [CaptionerCheckpoint.CaptionerFile, CheckpointFiles.Weights, CaptionerCheckpoint.SamplesFile, CheckpointFiles.State, BlipVocabulary.FileName],
            Directory.EnumerateFiles(output.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var samples = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output.Directory, CaptionerCheckpoint.SamplesFile)));
        Assert.Equal(5, samples.RootElement.GetArrayLength());
        Assert.All(samples.RootElement.EnumerateArray(), sample =>
        {
            Assert.EndsWith(".png", sample.GetProperty("image").GetString(), StringComparison.Ordinal);
            Assert.Equal(2, sample.GetProperty("references").GetArrayLength());
            Assert.NotNull(sample.GetProperty("generated").GetString());
        });

        // The captioner loads as the capfilt stage will load it, and writes a caption with its prompt.
        using (var captioner = CaptionerCheckpoint.Load(output.Directory))
        {
            Assert.Equal("a picture of ", captioner.Prompt);
            var generator = new CaptionGenerator(captioner.Model, captioner.Tokenizer, captioner.Prompt, new CaptionDecodingSettings { MaxLength = 14 });
            using var images = TorchSharp.torch.zeros(2, 3, 16, 16);
            Assert.Equal(2, generator.Generate(images).Count);
        }

        // A retry from the step-4 checkpoint ends with the same weights and the same captions.
        var checkpoint = _chain.Reports[runId].OfType<CheckpointSaved>().First(report => report.Step == 4).Checkpoint;
        var (resumed, _) = await _chain.RunAsync(runner, "captioner", CaptionJson, inputs, checkpoint);

        var resumedOutput = await _chain.Store.FetchAsync(resumed.Outputs["checkpoint"]);
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(output.Directory, CheckpointFiles.Weights)),
            await File.ReadAllBytesAsync(Path.Combine(resumedOutput.Directory, CheckpointFiles.Weights)));
        Assert.Equal(result.Metrics["eval_cider"], resumed.Metrics["eval_cider"]);
    }

    [Fact]
    public async Task A_prompt_the_vocabulary_does_not_know_fails_before_training_naming_the_word()
    {
        var (splits, pretrained) = await PretrainAsync(human: 8, test: 2);
        var reports = new List<object>();
        var json = CaptionJson.Replace("\"beam_size\":2", "\"prompt\":\"a photograph of \"", StringComparison.Ordinal);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => _chain.RunAsync(
            new BlipCaptionRunner(), "captioner", json,
            StageChain.Inputs(("init", pretrained.Outputs["checkpoint"]), ("train", splits["human"])), onReport: reports.Add));

        Assert.Contains("'photograph'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(reports, report => report is StageRunProgressed);
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>A synthetic dataset, and a tiny model pretrained one epoch on its human split.</summary>
    private async Task<(IReadOnlyDictionary<string, ArtifactReference> Splits, StageRunResult Pretrained)> PretrainAsync(int human, int test)
    {
        var dataOptions = OptionsBinder.ToJson(SyntheticStageOptions.Of(seed: 3, images: 10, human: human, test: test, noise: 0)).ToJsonString();
        var (data, _) = await _chain.RunAsync(new SyntheticDatasetRunner(), "data", dataOptions, StageChain.Inputs());
        var (pretrained, _) = await _chain.RunAsync(
            new BlipPretrainRunner(new BlipBatchSourceFactory()), "pretrain", PretrainJson, StageChain.Inputs(("train", data.Outputs["human"])));
        return (data.Outputs, pretrained);
    }
}
