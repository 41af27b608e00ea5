using System.Collections.Concurrent;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Runners;
using Trainer.Worker.Tests.Data;
using VisionLanguage.Tasks.Pretraining;
using VisionLanguage.Testing;
using Xunit.Abstractions;

namespace Trainer.Worker.Tests.Training;

/// <summary>
/// What the learning tests share: rendered synthetic scenes (512 web images, 256 clean test images, seed 7), then
/// <c>blip.pretrain</c> at the tiny preset for 30 epochs, through the runners a worker uses; the stage-1 Q-Former against
/// its frozen ViT (run by the first test that asks); the same scenes with two VQA questions per image (the images
/// and captions are the same; only the questions and the vocabulary are added); the same scenes paired into NLVR2
/// statements, four per image (written by the first test that asks); and, per LLM architecture, an LLM made here and
/// stage 2 into it (run by the first test that asks: the stage-2 test and the BLIP-2 finetunes share them).
/// </summary>
public sealed class TinyPretrainFixture : IAsyncLifetime
{
    public const int TestImages = 256;

    private readonly DataTestFolder _folder = new();
    private Lazy<Task<(StageRunResult Result, string RunId)>> _stage1 = null!;
    private Lazy<Task<(StageRunResult Result, string RunId)>> _nlvr2Dataset = null!;
    private readonly ConcurrentDictionary<string, Lazy<Task<(StageRunResult Llm, StageRunResult Stage2)>>> _stage2 = new();

    public StageChain Chain { get; private set; } = null!;

    public StageRunResult Dataset { get; private set; } = null!;

    public StageRunResult Pretrain { get; private set; } = null!;

    public IReadOnlyList<StageRunProgressed> PretrainSteps { get; private set; } = [];

    public StageRunResult VqaDataset { get; private set; } = null!;

    /// <summary>The stage-1 Q-Former (tiny preset, 30 epochs on the web split) and its run id; run once, by the first test that asks.</summary>
    public Task<(StageRunResult Result, string RunId)> Stage1 => _stage1.Value;

    /// <summary>The scenes with four NLVR2 statements per image (half of them true); written once, by the first test that asks.</summary>
    public Task<(StageRunResult Result, string RunId)> Nlvr2Dataset => _nlvr2Dataset.Value;

    /// <summary>
    /// An LLM of <paramref name="architecture"/> made here (tiny, 16 epochs on the VQA split's texts) and stage 2 into it
    /// (tiny, 90 epochs; <paramref name="captionPrompt"/> is its evaluation's caption prompt); run once per architecture,
    /// by the first test that asks.
    /// </summary>
    public Task<(StageRunResult Llm, StageRunResult Stage2)> Stage2(string architecture, string captionPrompt) =>
        _stage2.GetOrAdd(architecture, _ => new(() => RunStage2Async(architecture, captionPrompt))).Value;

    public async Task InitializeAsync()
    {
        Chain = new StageChain(_folder.Root);
        var dataOptions = SyntheticStageOptions.Of(seed: 7, images: 512, human: 8, test: TestImages, noise: 0.0);
        (Dataset, _) = await Chain.RunAsync(new SyntheticDatasetRunner(), "data", OptionsBinder.ToJson(dataOptions).ToJsonString(), StageChain.Inputs());
        (Pretrain, var runId) = await Chain.RunAsync(
            new BlipPretrainRunner(new BlipBatchSourceFactory()),
            "pretrain",
            """{"preset":"tiny","epochs":30,"batch_size":32,"warmup_steps":10,"checkpoint_every_steps":1000}""",
            StageChain.Inputs(("train", Dataset.Outputs["web"]), ("eval", Dataset.Outputs["test"])));
        PretrainSteps = [.. Chain.Reports[runId].OfType<StageRunProgressed>()];
        var vqaOptions = SyntheticStageOptions.Of(seed: 7, images: 512, human: 8, test: TestImages, noise: 0.0);
        vqaOptions.VqaQuestions = 2;
        (VqaDataset, _) = await Chain.RunAsync(new SyntheticDatasetRunner(), "vqa-data", OptionsBinder.ToJson(vqaOptions).ToJsonString(), StageChain.Inputs());
        var nlvr2Options = SyntheticStageOptions.Of(seed: 7, images: 512, human: 8, test: TestImages, noise: 0.0);
        nlvr2Options.Nlvr2Pairs = 4;
        _nlvr2Dataset = new(() => Chain.RunAsync(new SyntheticDatasetRunner(), "nlvr2-data", OptionsBinder.ToJson(nlvr2Options).ToJsonString(), StageChain.Inputs()));
        _stage1 = new(() => Chain.RunAsync(
            new Blip2Stage1Runner(new BlipBatchSourceFactory()),
            "qformer",
            """{"preset":"tiny","epochs":30,"batch_size":32,"warmup_steps":10,"checkpoint_every_steps":1000}""",
            StageChain.Inputs(("image_encoder", Pretrain.Outputs["checkpoint"]), ("train", Dataset.Outputs["web"]), ("eval", Dataset.Outputs["test"]))));
    }

    private async Task<(StageRunResult Llm, StageRunResult Stage2)> RunStage2Async(string architecture, string captionPrompt)
    {
        var (stage1, _) = await Stage1;
        var (web, test) = (VqaDataset.Outputs["web"], VqaDataset.Outputs["test"]);
        var (llm, _) = await Chain.RunAsync(
            new LlmPretrainRunner(),
            $"llm-{architecture}",
            $$"""{"preset":"tiny","architecture":"{{architecture}}","epochs":16,"batch_size":32,"warmup_steps":20,"checkpoint_every_steps":10000}""",
            StageChain.Inputs(("train", web)));
        var (result, _) = await Chain.RunAsync(
            new Blip2Stage2Runner(),
            $"stage2-{architecture}",
            $$"""{"preset":"tiny","epochs":90,"batch_size":32,"warmup_steps":20,"checkpoint_every_steps":10000,"caption_prompt":"{{captionPrompt}}"}""",
            StageChain.Inputs(
                ("qformer", stage1.Outputs["checkpoint"]), ("image_encoder", Pretrain.Outputs["checkpoint"]), ("llm", llm.Outputs["llm"]),
                ("train", web), ("eval", test), ("vqa_eval", test)));
        return (llm, result);
    }

    public Task DisposeAsync()
    {
        _folder.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// The learning acceptance in miniature: the tiny BLIP preset from scratch, then BLIP-2 stage 1 against its frozen ViT,
/// stage 2 into frozen LLMs and the BLIP-2 finetunes from them, and BLIP's VQA and NLVR2 finetunes from the pretrain, on
/// rendered synthetic scenes, through the same runners a worker uses.
/// </summary>
public sealed class BlipLearningTests(TinyPretrainFixture fixture, ITestOutputHelper output) : IClassFixture<TinyPretrainFixture>
{
    private const int TestImages = TinyPretrainFixture.TestImages;

    [Fact]
    public void The_tiny_preset_learns_rendered_scenes_every_loss_falls_and_held_out_retrieval_is_far_above_chance()
    {
        var (result, steps) = (fixture.Pretrain, fixture.PretrainSteps);
        Assert.Equal(480, steps.Count);
        // Measured on this machine kind (deterministic for the seeds): ITC 4.69 → 3.08, ITM 0.642 → 0.445 (its 1:2 prior
        // is 0.637), LM 4.35 → 1.83.
        foreach (var (loss, factor) in new[] { ("loss_itc", 0.8), ("loss_itm", 0.8), ("loss_lm", 0.6) })
        {
            var first = steps.Take(20).Average(step => step.Metrics[loss]);
            var last = steps.TakeLast(20).Average(step => step.Metrics[loss]);
            output.WriteLine($"{loss}: first 20 steps {first:F3}, last 20 steps {last:F3}");
            Assert.True(last < factor * first, $"{loss} went from {first:F3} to {last:F3}; expected below {factor} of the start");
        }

        // Each of the 256 test images has two clean captions: recall@k by chance is about k/256 both ways (image→text:
        // two hits among 512 texts). Measured: R@1 0.020 image→text and 0.043 text→image (5× and 11× chance), R@10
        // 0.28 and 0.36 (7× and 9×).
        foreach (var (name, value) in result.Metrics.Where(metric => metric.Key.StartsWith("eval_", StringComparison.Ordinal)))
        {
            output.WriteLine($"{name}: {value:F4}");
        }

        const double chanceR1 = 1.0 / TestImages;
        Assert.True(result.Metrics["eval_i2t_r1"] >= 4 * chanceR1, $"image→text R@1 {result.Metrics["eval_i2t_r1"]:F4}, chance {chanceR1:F4}");
        Assert.True(result.Metrics["eval_t2i_r1"] >= 8 * chanceR1, $"text→image R@1 {result.Metrics["eval_t2i_r1"]:F4}, chance {chanceR1:F4}");
        Assert.True(result.Metrics["eval_i2t_r10"] >= 5 * 10 * chanceR1, $"image→text R@10 {result.Metrics["eval_i2t_r10"]:F4}");
        Assert.True(result.Metrics["eval_t2i_r10"] >= 5 * 10 * chanceR1, $"text→image R@10 {result.Metrics["eval_t2i_r10"]:F4}");
    }

    [Fact]
    public async Task Blip2_stage1_against_the_frozen_pretrained_vit_learns_every_loss_falls_and_retrieval_is_above_chance()
    {
        var (result, runId) = await fixture.Stage1;

        var steps = fixture.Chain.Reports[runId].OfType<StageRunProgressed>().ToList();
        Assert.Equal(480, steps.Count);
        foreach (var (name, value) in result.Metrics.Where(metric => metric.Key.StartsWith("eval_", StringComparison.Ordinal) || metric.Key == "temp"))
        {
            output.WriteLine($"{name}: {value:F4}");
        }

        // Measured on this machine kind (deterministic for the seeds): ITC 3.59 → 2.26, ITM 0.641 → 0.320, ITG 4.31 → 1.89;
        // R@1 0.039 image→text and 0.047 text→image (10× and 12× chance), temperature 0.07 → 0.11; captions through ITG
        // (beam 3) score BLEU-4 0.163 and CIDEr-D 0.60 on the 256 test images.
        var falls = new[] { ("loss_itc", 0.8), ("loss_itm", 0.8), ("loss_itg", 0.6) }.Select(objective =>
        {
            var first = steps.Take(20).Average(step => step.Metrics[objective.Item1]);
            var last = steps.TakeLast(20).Average(step => step.Metrics[objective.Item1]);
            output.WriteLine($"{objective.Item1}: first 20 steps {first:F3}, last 20 steps {last:F3}");
            return (objective.Item1, first, last, objective.Item2);
        }).ToList();
        foreach (var (loss, first, last, factor) in falls)
        {
            Assert.True(last < factor * first, $"{loss} went from {first:F3} to {last:F3}; expected below {factor} of the start");
        }

        const double chanceR1 = 1.0 / TestImages;
        Assert.True(result.Metrics["eval_i2t_r1"] >= 5 * chanceR1, $"image→text R@1 {result.Metrics["eval_i2t_r1"]:F4}, chance {chanceR1:F4}");
        Assert.True(result.Metrics["eval_t2i_r1"] >= 5 * chanceR1, $"text→image R@1 {result.Metrics["eval_t2i_r1"]:F4}, chance {chanceR1:F4}");
        Assert.True(result.Metrics["eval_cider"] >= 0.3, $"CIDEr-D {result.Metrics["eval_cider"]:F3} of the Q-Former's captions");
    }

    [Theory]
    [InlineData("opt", "a picture of")]
    [InlineData("t5", "")]
    public async Task Blip2_stage2_into_a_frozen_LLM_made_here_captions_and_answers_far_better_with_the_soft_prompt_than_without(string architecture, string captionPrompt)
    {
        var (_, result) = await fixture.Stage2(architecture, captionPrompt);

        foreach (var (name, value) in result.Metrics.Where(metric => metric.Key.Contains("eval_", StringComparison.Ordinal) || metric.Key.StartsWith("loss", StringComparison.Ordinal)))
        {
            output.WriteLine($"{name}: {value:F4}");
        }

        // The baselines are the same frozen LLM without the soft prompt: captioning from the caption prompt alone,
        // answering from the question alone. The decoder-only LLM is prompted "a picture of" (a phrase of the synthetic
        // captions; after BOS alone it writes the corpus's likeliest text, a question); T5, trained as a prefix LM,
        // from nothing. Measured on this machine kind (deterministic for the seeds): OPT CIDEr-D 0.834 against 0.253
        // (3.3×), VQA 0.479 against 0.376 (+0.103); T5 CIDEr-D 1.128 against 0.534 (2.1×), VQA 0.306 against 0.200 (+0.106).
        var (cider, baselineCider) = (result.Metrics["eval_cider"], result.Metrics["baseline_eval_cider"]);
        var (vqa, baselineVqa) = (result.Metrics["eval_vqa_accuracy"], result.Metrics["baseline_eval_vqa_accuracy"]);
        Assert.True(cider >= 2 * baselineCider, $"CIDEr-D {cider:F3} with the soft prompt, {baselineCider:F3} without");
        Assert.True(vqa >= baselineVqa + 0.10, $"VQA accuracy {vqa:F3} with the soft prompt, {baselineVqa:F3} from the question alone");
    }

    [Fact]
    public async Task Blip2_caption_finetune_from_stage_2_with_the_encoder_unfrozen_learns_its_loss_falls()
    {
        var (llm, stage2) = await fixture.Stage2("opt", "a picture of");
        var (web, test) = (fixture.VqaDataset.Outputs["web"], fixture.VqaDataset.Outputs["test"]);

        var (result, runId) = await fixture.Chain.RunAsync(
            new Blip2CaptionFinetuneRunner(),
            "blip2-caption",
            """{"preset":"tiny","epochs":16,"batch_size":32,"warmup_steps":10,"checkpoint_every_steps":10000,"prompt":"a picture of"}""",
            StageChain.Inputs(
                ("init", stage2.Outputs["checkpoint"]), ("image_encoder", fixture.Pretrain.Outputs["checkpoint"]), ("llm", llm.Outputs["llm"]),
                ("train", web), ("eval", test)));

        var steps = fixture.Chain.Reports[runId].OfType<StageRunProgressed>().ToList();
        Assert.Equal(256, steps.Count);
        var first = steps.Take(20).Average(step => step.Metrics["loss_lm"]);
        var last = steps.TakeLast(20).Average(step => step.Metrics["loss_lm"]);
        output.WriteLine($"loss_lm: first 20 steps {first:F3}, last 20 steps {last:F3}");
        foreach (var (name, value) in result.Metrics.Where(metric => metric.Key.StartsWith("eval_", StringComparison.Ordinal)))
        {
            output.WriteLine($"{name}: {value:F4}");
        }

        output.WriteLine($"stage 2 (prompt \"a picture of\"): CIDEr-D {stage2.Metrics["eval_cider"]:F4}, BLEU-4 {stage2.Metrics["eval_bleu4"]:F4}");
        // Measured on this machine kind (deterministic for the seeds): 1.456 → 1.232 (the first steps are above stage 2's
        // last loss, 1.08: stage 2 learnt without a prompt, the finetune learns after "a picture of"); CIDEr-D 0.791 on
        // the 256 test images, where stage 2 captioned from the same prompt at 0.834.
        Assert.True(last < 0.9 * first, $"loss_lm went from {first:F3} to {last:F3}; expected below 0.9 of the start");
    }

    [Fact]
    public async Task Blip2_retrieval_finetune_from_stage_1_with_the_encoder_unfrozen_learns_every_loss_falls()
    {
        var (stage1, _) = await fixture.Stage1;

        var (result, runId) = await fixture.Chain.RunAsync(
            new Blip2RetrievalFinetuneRunner(new BlipBatchSourceFactory()),
            "blip2-retrieval",
            """{"preset":"tiny","epochs":16,"batch_size":32,"warmup_steps":10,"checkpoint_every_steps":10000}""",
            StageChain.Inputs(
                ("init", stage1.Outputs["checkpoint"]), ("image_encoder", fixture.Pretrain.Outputs["checkpoint"]),
                ("train", fixture.Dataset.Outputs["web"]), ("eval", fixture.Dataset.Outputs["test"])));

        var steps = fixture.Chain.Reports[runId].OfType<StageRunProgressed>().ToList();
        Assert.Equal(256, steps.Count);
        foreach (var (name, value) in result.Metrics.Where(metric => metric.Key.StartsWith("eval_", StringComparison.Ordinal)))
        {
            output.WriteLine($"{name}: {value:F4} (stage 1: {stage1.Metrics.GetValueOrDefault(name):F4})");
        }

        // Measured on this machine kind (deterministic for the seeds), from where stage 1 ended: ITC 2.231 → 2.104, ITM
        // 0.303 → 0.275, ITG 1.887 → 1.867; the mean recall on the 256 test images 0.2015, stage 1's 0.1917.
        var falls = new[] { ("loss_itc", 0.97), ("loss_itm", 0.95), ("loss_itg", 1.0) }.Select(objective =>
        {
            var first = steps.Take(20).Average(step => step.Metrics[objective.Item1]);
            var last = steps.TakeLast(20).Average(step => step.Metrics[objective.Item1]);
            output.WriteLine($"{objective.Item1}: first 20 steps {first:F3}, last 20 steps {last:F3}");
            return (objective.Item1, first, last, objective.Item2);
        }).ToList();
        foreach (var (loss, first, last, factor) in falls)
        {
            Assert.True(last < factor * first, $"{loss} went from {first:F3} to {last:F3}; expected below {factor} of the start");
        }

        Assert.True(result.Metrics["eval_r_mean"] > stage1.Metrics["eval_r_mean"], $"mean recall {result.Metrics["eval_r_mean"]:F4}, stage 1's {stage1.Metrics["eval_r_mean"]:F4}");
    }

    [Fact]
    public async Task Blip2_vqa_finetune_from_stage_2_with_the_question_in_the_QFormer_learns_its_loss_falls()
    {
        var (stage1, _) = await fixture.Stage1;
        var (llm, stage2) = await fixture.Stage2("opt", "a picture of");
        var (web, test) = (fixture.VqaDataset.Outputs["web"], fixture.VqaDataset.Outputs["test"]);

        var (result, runId) = await fixture.Chain.RunAsync(
            new Blip2VqaFinetuneRunner(),
            "blip2-vqa",
            """{"preset":"tiny","epochs":8,"batch_size":32,"warmup_steps":10,"checkpoint_every_steps":10000,"max_text_length":48}""",
            StageChain.Inputs(
                ("init", stage2.Outputs["checkpoint"]), ("qformer", stage1.Outputs["checkpoint"]), ("image_encoder", fixture.Pretrain.Outputs["checkpoint"]),
                ("llm", llm.Outputs["llm"]), ("train", web), ("eval", test)));

        var steps = fixture.Chain.Reports[runId].OfType<StageRunProgressed>().ToList();
                var first = steps.Take(20).Average(step => step.Metrics["loss_lm"]);
        var last = steps.TakeLast(20).Average(step => step.Metrics["loss_lm"]);
        output.WriteLine($"loss_lm: first 20 steps {first:F3}, last 20 steps {last:F3}");
        foreach (var (name, value) in result.Metrics.Where(metric => metric.Key.Contains("vqa", StringComparison.Ordinal)))
        {
            output.WriteLine($"{name}: {value:F4}");
        }

        output.WriteLine($"stage 2 zero-shot: {stage2.Metrics["eval_vqa_accuracy"]:F4}, from the question alone {stage2.Metrics["baseline_eval_vqa_accuracy"]:F4}");
        Assert.Equal(248, steps.Count); // 31 full batches of 32 questions an epoch (the partial last one dropped), 8 epochs
        // Measured on this machine kind (deterministic for the seeds): 0.613 → 0.523; VQA accuracy 0.523 on the 512
        // held-out questions, where stage 2 answered zero-shot at 0.479 and the majority answer scores 0.188.
        Assert.True(last < 0.9 * first, $"loss_lm went from {first:F3} to {last:F3}; expected below 0.9 of the start");
        var (accuracy, baseline) = (result.Metrics["eval_vqa_accuracy"], result.Metrics["baseline_eval_vqa_accuracy"]);
        Assert.True(accuracy >= baseline + 0.10, $"VQA accuracy {accuracy:F3}, the majority answer's {baseline:F3}");
        Assert.True(accuracy > stage2.Metrics["eval_vqa_accuracy"], $"VQA accuracy {accuracy:F3}, stage 2's zero-shot {stage2.Metrics["eval_vqa_accuracy"]:F3}");
    }

    [Fact]
    public async Task Blip_vqa_from_the_tiny_pretrain_answers_held_out_questions_well_above_the_majority_answer()
    {
        var (web, test) = (fixture.VqaDataset.Outputs["web"], fixture.VqaDataset.Outputs["test"]);

        var (result, runId) = await fixture.Chain.RunAsync(
            new BlipVqaRunner(),
            "vqa",
            """{"preset":"tiny","epochs":10,"batch_size":32,"warmup_steps":10,"checkpoint_every_steps":10000}""",
            StageChain.Inputs(("init", fixture.Pretrain.Outputs["checkpoint"]), ("train", web), ("eval", test)));

        var steps = fixture.Chain.Reports[runId].OfType<StageRunProgressed>().ToList();
        var (first, last) = (steps.Take(10).Average(step => step.Metrics["loss_vqa"]), steps.TakeLast(10).Average(step => step.Metrics["loss_vqa"]));
        output.WriteLine($"loss_vqa: first 10 steps {first:F3}, last 10 steps {last:F3} ({steps.Count} steps)");
        foreach (var (name, value) in result.Metrics.Where(metric => metric.Key.Contains("eval_", StringComparison.Ordinal)).OrderBy(metric => metric.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{name}: {value:F4}");
        }

        // 1,023 training questions about the 512 pretraining images (the pretrain's vocabulary grows by the questions'
        // words), 512 held-out ones ranked over the 29 candidate answers. Measured on this machine kind (deterministic for
        // the seeds): loss 9.24 → 3.09; accuracy 0.462 against 0.188 for the majority answer ("1") and 0.321 for the
        // majority answer of each question type; colour questions 0.60 (the majority answer scores 0 there).
        Assert.True(last < 0.5 * first, $"loss_vqa went from {first:F3} to {last:F3}");
        var (vqa, baseline) = (result.Metrics["eval_vqa_accuracy"], result.Metrics["baseline_eval_vqa_accuracy"]);
        Assert.True(vqa >= baseline + 0.10, $"VQA accuracy {vqa:F3}, the majority answer {baseline:F3}");
        Assert.True(vqa > result.Metrics["baseline_type_prior_eval_vqa_accuracy"], "the model should beat answering from the question's type alone");
    }

    [Fact]
    public async Task Blip_nlvr2_from_the_tiny_pretrain_judges_held_out_statements_well_above_the_majority_class()
    {
        var (data, _) = await fixture.Nlvr2Dataset;

        var (result, runId) = await fixture.Chain.RunAsync(
            new BlipNlvr2Runner(),
            "nlvr2",
            """{"preset":"tiny","epochs":10,"batch_size":32,"warmup_steps":10,"checkpoint_every_steps":10000}""",
            StageChain.Inputs(("init", fixture.Pretrain.Outputs["checkpoint"]), ("train", data.Outputs["web"]), ("eval", data.Outputs["test"])));

        var steps = fixture.Chain.Reports[runId].OfType<StageRunProgressed>().ToList();
        var (first, last) = (steps.Take(20).Average(step => step.Metrics["loss_nlvr2"]), steps.TakeLast(20).Average(step => step.Metrics["loss_nlvr2"]));
        output.WriteLine($"loss_nlvr2: first 20 steps {first:F3}, last 20 steps {last:F3} ({steps.Count} steps)");
        foreach (var (name, value) in result.Metrics.Where(metric => metric.Key.Contains("eval_", StringComparison.Ordinal)).OrderBy(metric => metric.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{name}: {value:F4}");
        }

        // 2,048 training statements (half true) about pairs of the 512 pretraining images, with the image swap; 1,024
        // held-out ones about held-out pairs. Measured on this machine kind (deterministic for the seeds): loss 0.70 →
        // 0.59; accuracy 0.637 against 0.500 for the majority class; by kind: true 0.76, recoloured 0.62, and the
        // statements true of the other image 0.25 (the tiny model learns what the images hold, not yet which is which).
        Assert.True(last < 0.9 * first, $"loss_nlvr2 went from {first:F3} to {last:F3}");
        var (accuracy, baseline) = (result.Metrics["eval_nlvr2_accuracy"], result.Metrics["baseline_eval_nlvr2_accuracy"]);
        Assert.True(accuracy >= baseline + 0.10, $"NLVR2 accuracy {accuracy:F3}, the majority class {baseline:F3}");
    }
}
