using System.Text.Json;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Runners;
using Trainer.Worker.Tests.Data;
using VisionLanguage.Data;
using VisionLanguage.Tasks.Pretraining;
using VisionLanguage.Tasks.Vqa;
using VisionLanguage.Testing;
using VisionLanguage.Training;

namespace Trainer.Worker.Tests.Training;

/// <summary>
/// The VQA and NLVR2 finetunes through the runners a worker uses, at unit-test sizes: they train, evaluate beside their
/// baselines, write their outputs, and a retry resumes to the same bits.
/// </summary>
public sealed class BlipDownstreamRunnerTests : IDisposable
{
    private const string Shape = """
        "image_size":16,"patch_size":8,"vision_width":32,"vision_depth":1,"vision_heads":2,"text_width":32,"text_layers":2,"text_heads":2,"embed_dim":16
        """;

    private static readonly string PretrainJson = $$"""{{{Shape}},"epochs":1,"batch_size":8,"queue_size":16,"warmup_steps":1,"learning_rate":0.001}""";

    private readonly DataTestFolder _folder = new();
    private readonly StageChain _chain;

    public BlipDownstreamRunnerTests() => _chain = new StageChain(_folder.Root);

    [Fact]
    public async Task A_vqa_finetune_learns_answers_by_ranking_beside_its_baselines_writes_its_outputs_and_resumes_to_the_same_bits()
    {
        var (splits, pretrained) = await PretrainAsync(vqa: true);
        var inputs = StageChain.Inputs(("init", pretrained.Outputs["checkpoint"]), ("train", splits["human"]), ("eval", splits["test"]));
        const string Json = """{"image_size":16,"epochs":2,"batch_size":8,"warmup_steps":1,"learning_rate":0.003,"checkpoint_every_steps":4}""";
        var runner = new BlipVqaRunner();

        var (result, runId) = await _chain.RunAsync(runner, "vqa", Json, inputs);

        var progress = _chain.Reports[runId].OfType<StageRunProgressed>().ToList();
        Assert.True(progress.Count >= 8, $"{progress.Count} steps");
        Assert.All(progress, report => Assert.Equal(report.Metrics["loss"], report.Metrics["loss_vqa"]));
        Assert.InRange(result.Metrics["eval_vqa_accuracy"], 0.0, 1.0);
        Assert.InRange(result.Metrics["baseline_eval_vqa_accuracy"], 0.0, 1.0);
        Assert.InRange(result.Metrics["baseline_type_prior_eval_vqa_accuracy"], 0.0, 1.0);
        Assert.True(result.Metrics.ContainsKey("eval_vqa_accuracy_colour"));

        Assert.Equal("checkpoint.blip.vqa", result.Outputs["checkpoint"].Type);
        var output = await _chain.Store.FetchAsync(result.Outputs["checkpoint"]);
        Assert.Equal(
            [CheckpointFiles.Weights, BlipVqaTask.SamplesFile, CheckpointFiles.State, BlipVocabulary.FileName, BlipVqaTask.VqaFile],
            Directory.EnumerateFiles(output.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using (var vqa = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output.Directory, BlipVqaTask.VqaFile))))
        {
            Assert.Equal("rank", vqa.RootElement.GetProperty("inference").GetString());
            Assert.Equal(29, vqa.RootElement.GetProperty("answer_list").GetArrayLength());
        }

        // The pretrained vocabulary knew the questions' words (the dataset has VQA), so it was kept as it was.
        var pretrainedOutput = await _chain.Store.FetchAsync(pretrained.Outputs["checkpoint"]);
        Assert.Equal(
            await File.ReadAllLinesAsync(Path.Combine(pretrainedOutput.Directory, BlipVocabulary.FileName)),
            await File.ReadAllLinesAsync(Path.Combine(output.Directory, BlipVocabulary.FileName)));

        // evaluate answers the same questions as the finetune did, from its output alone: the same scores, exactly.
        var (scored, _) = await _chain.RunAsync(new EvaluateRunner(), "evaluate-vqa", """{"task":"vqa","batch_size":8}""",
            StageChain.Inputs(("checkpoint", result.Outputs["checkpoint"]), ("dataset", splits["test"])));
        Assert.Equal(
            result.Metrics.Where(metric => metric.Key.StartsWith("eval_", StringComparison.Ordinal)).OrderBy(metric => metric.Key, StringComparer.Ordinal),
            scored.Metrics.OrderBy(metric => metric.Key, StringComparer.Ordinal));

        var checkpoint = _chain.Reports[runId].OfType<CheckpointSaved>().First(report => report.Step == 4).Checkpoint;
        var (resumed, _) = await _chain.RunAsync(runner, "vqa", Json, inputs, checkpoint);

        var resumedOutput = await _chain.Store.FetchAsync(resumed.Outputs["checkpoint"]);
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(output.Directory, CheckpointFiles.Weights)),
            await File.ReadAllBytesAsync(Path.Combine(resumedOutput.Directory, CheckpointFiles.Weights)));
        Assert.Equal(result.Metrics["eval_vqa_accuracy"], resumed.Metrics["eval_vqa_accuracy"]);
    }

    [Fact]
    public async Task A_vqa_finetune_from_a_pretrain_without_the_questions_words_grows_its_vocabulary_and_answers_by_generation()
    {
        var (_, pretrained) = await PretrainAsync(vqa: false);
        var (vqaData, _) = await _chain.RunAsync(new SyntheticDatasetRunner(), "vqa-data", Data(vqa: true), StageChain.Inputs());
        const string Json = """{"image_size":16,"epochs":1,"batch_size":8,"warmup_steps":1,"checkpoint_every_steps":100,"inference":"generate","beam_size":2,"max_answer_length":6}""";

        var (result, _) = await _chain.RunAsync(
            new BlipVqaRunner(), "vqa", Json,
            StageChain.Inputs(("init", pretrained.Outputs["checkpoint"]), ("train", vqaData.Outputs["human"]), ("eval", vqaData.Outputs["test"])));

        Assert.InRange(result.Metrics["eval_vqa_accuracy"], 0.0, 1.0);
        var output = await _chain.Store.FetchAsync(result.Outputs["checkpoint"]);
        var pretrainedOutput = await _chain.Store.FetchAsync(pretrained.Outputs["checkpoint"]);
        var before = await File.ReadAllLinesAsync(Path.Combine(pretrainedOutput.Directory, BlipVocabulary.FileName));
        var after = await File.ReadAllLinesAsync(Path.Combine(output.Directory, BlipVocabulary.FileName));
        Assert.Equal(before, after.Take(before.Length));
        Assert.Contains("2", after.Skip(before.Length));          // counts are digits; the captions spell them
        Assert.Contains("color", after.Skip(before.Length));
    }

    [Fact]
    public async Task An_nlvr2_finetune_learns_evaluates_beside_the_majority_class_writes_its_outputs_and_resumes_to_the_same_bits()
    {
        var (splits, pretrained) = await PretrainAsync(vqa: false, nlvr2: true);
        var inputs = StageChain.Inputs(("init", pretrained.Outputs["checkpoint"]), ("train", splits["human"]), ("eval", splits["test"]));
        const string Json = """{"image_size":16,"epochs":2,"batch_size":8,"warmup_steps":1,"learning_rate":0.003,"checkpoint_every_steps":4}""";
        var runner = new BlipNlvr2Runner();

        var (result, runId) = await _chain.RunAsync(runner, "nlvr2", Json, inputs);

        var progress = _chain.Reports[runId].OfType<StageRunProgressed>().ToList();
        Assert.True(progress.Count >= 8, $"{progress.Count} steps");
        Assert.All(progress, report => Assert.Equal(report.Metrics["loss"], report.Metrics["loss_nlvr2"]));
        Assert.InRange(result.Metrics["eval_nlvr2_accuracy"], 0.0, 1.0);
        Assert.Equal(0.5, result.Metrics["baseline_eval_nlvr2_accuracy"]);
        Assert.Equal(12, result.Metrics["eval_examples"]);
        Assert.True(result.Metrics.ContainsKey("eval_nlvr2_accuracy_true"));

        Assert.Equal("checkpoint.blip.nlvr2", result.Outputs["checkpoint"].Type);
        var output = await _chain.Store.FetchAsync(result.Outputs["checkpoint"]);
        Assert.Equal(
            [CheckpointFiles.Weights, CheckpointFiles.State, BlipVocabulary.FileName],
            Directory.EnumerateFiles(output.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        var (scored, _) = await _chain.RunAsync(new EvaluateRunner(), "evaluate-nlvr2", """{"task":"nlvr2","batch_size":8}""",
            StageChain.Inputs(("checkpoint", result.Outputs["checkpoint"]), ("dataset", splits["test"])));
        Assert.Equal(
            result.Metrics.Where(metric => metric.Key.StartsWith("eval_", StringComparison.Ordinal)).OrderBy(metric => metric.Key, StringComparer.Ordinal),
            scored.Metrics.OrderBy(metric => metric.Key, StringComparer.Ordinal));

        var checkpoint = _chain.Reports[runId].OfType<CheckpointSaved>().First(report => report.Step == 4).Checkpoint;
        var (resumed, _) = await _chain.RunAsync(runner, "nlvr2", Json, inputs, checkpoint);

        var resumedOutput = await _chain.Store.FetchAsync(resumed.Outputs["checkpoint"]);
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(output.Directory, CheckpointFiles.Weights)),
            await File.ReadAllBytesAsync(Path.Combine(resumedOutput.Directory, CheckpointFiles.Weights)));
        Assert.Equal(result.Metrics["eval_nlvr2_accuracy"], resumed.Metrics["eval_nlvr2_accuracy"]);
    }

    [Fact]
    public async Task Training_data_without_the_kinds_split_fails_before_training_naming_the_fix()
    {
        var (splits, pretrained) = await PretrainAsync(vqa: false);
        var reports = new List<object>();
        var inputs = StageChain.Inputs(("init", pretrained.Outputs["checkpoint"]), ("train", splits["human"]));

        var vqa = await Assert.ThrowsAsync<InvalidDataException>(() => _chain.RunAsync(new BlipVqaRunner(), "vqa", """{"image_size":16}""", inputs, onReport: reports.Add));
        var nlvr2 = await Assert.ThrowsAsync<InvalidDataException>(() => _chain.RunAsync(new BlipNlvr2Runner(), "nlvr2", """{"image_size":16}""", inputs, onReport: reports.Add));

        Assert.Contains("holds no VQA split; bind a dataset.synthetic output with vqa_questions above 0", vqa.Message, StringComparison.Ordinal);
        Assert.Contains("has no NLVR2 split", nlvr2.Message, StringComparison.Ordinal);
        Assert.Contains("nlvr2_pairs above 0", nlvr2.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(reports, report => report is StageRunProgressed);
    }

    public void Dispose() => _folder.Dispose();

    private static string Data(bool vqa, bool nlvr2 = false)
    {
        var options = SyntheticStageOptions.Of(seed: 3, images: 10, human: 32, test: 6, noise: 0);
        options.VqaQuestions = vqa ? 2 : 0;
        options.Nlvr2Pairs = nlvr2 ? 2 : 0;
        return OptionsBinder.ToJson(options).ToJsonString();
    }

    /// <summary>A synthetic dataset (with VQA questions or NLVR2 pairs as asked), and a tiny model pretrained one epoch on its human split.</summary>
    private async Task<(IReadOnlyDictionary<string, ArtifactReference> Splits, StageRunResult Pretrained)> PretrainAsync(bool vqa, bool nlvr2 = false)
    {
        var (data, _) = await _chain.RunAsync(new SyntheticDatasetRunner(), "data", Data(vqa, nlvr2), StageChain.Inputs());
        var (pretrained, _) = await _chain.RunAsync(
            new BlipPretrainRunner(new BlipBatchSourceFactory()), "pretrain", PretrainJson, StageChain.Inputs(("train", data.Outputs["human"])));
        return (data.Outputs, pretrained);
    }
}
