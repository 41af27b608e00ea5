using Trainer.Worker.Runners;

namespace Trainer.Worker.Tests.Training;

/// <summary>
/// <c>evaluate</c> on BLIP-2 checkpoints runs the very evaluation their own stage ran at its end: on the same split with
/// the same batch, its scores are the stage's own <c>eval_</c> metrics, exactly. Stage 1 and stage 2 come from the shared
/// <see cref="TinyBlip2Chain"/>, which evaluated them on the test split; the finetunes run here for one epoch.
/// </summary>
[Collection(TinyBlip2Chain.Collection)]
public sealed class Blip2EvaluateRunnerTests(TinyBlip2Chain chain)
{
    private static readonly string[] RetrievalMetrics = ["eval_i2t_r1", "eval_i2t_r5", "eval_i2t_r10", "eval_t2i_r1", "eval_t2i_r5", "eval_t2i_r10", "eval_r_mean"];

    private static readonly string[] CaptionMetrics = ["eval_images", "eval_bleu4", "eval_cider"];

    [Fact]
    public async Task Retrieval_of_a_stage_1_QFormer_over_its_frozen_encoder_scores_the_test_split_as_stage_1_did()
    {
        var (scored, _) = await chain.Chain.RunAsync(new EvaluateRunner(), "evaluate-stage1",
            """{"task":"retrieval","batch_size":4,"max_text_length":16,"eval_top_k":4}""",
            StageChain.Inputs(("checkpoint", chain.Stage1), ("image_encoder", chain.Blip.Pretrained), ("dataset", chain.Test)));

        Assert.Equal(RetrievalMetrics.Select(name => chain.Stage1Metrics[name]), RetrievalMetrics.Select(name => scored.Metrics[name]));
    }

    [Fact]
    public async Task Retrieval_of_a_BLIP_2_retrieval_finetune_with_its_trained_encoder_scores_as_the_finetune_did()
    {
        var (finetuned, _) = await chain.Chain.RunAsync(new Blip2RetrievalFinetuneRunner(chain.Blip.Data), "retrieval2",
            """{"image_size":16,"max_text_length":16,"batch_size":4,"warmup_steps":1,"eval_top_k":4,"epochs":1,"checkpoint_every_steps":100}""",
            StageChain.Inputs(("init", chain.Stage1), ("image_encoder", chain.Blip.Pretrained), ("train", chain.Train), ("eval", chain.Test)));

        var (scored, _) = await chain.Chain.RunAsync(new EvaluateRunner(), "evaluate-retrieval2",
            """{"task":"retrieval","batch_size":4,"max_text_length":16,"eval_top_k":4}""",
            StageChain.Inputs(("checkpoint", finetuned.Outputs["checkpoint"]), ("dataset", chain.Test)));

        Assert.Equal(RetrievalMetrics.Select(name => finetuned.Metrics[name]), RetrievalMetrics.Select(name => scored.Metrics[name]));
    }

    [Fact]
    public async Task Captions_of_a_stage_2_model_through_its_frozen_LLM_score_the_test_split_as_stage_2_did()
    {
        var (scored, _) = await chain.Chain.RunAsync(new EvaluateRunner(), "evaluate-stage2",
            """{"task":"caption","batch_size":4}""",
            StageChain.Inputs(("checkpoint", chain.Stage2), ("image_encoder", chain.Blip.Pretrained), ("llm", chain.LlmWeights), ("dataset", chain.Test)));

        Assert.Equal(4, scored.Metrics["eval_images"]);
        Assert.Equal(CaptionMetrics.Select(name => chain.Stage2Metrics[name]), CaptionMetrics.Select(name => scored.Metrics[name]));
        var report = await chain.Chain.Store.FetchAsync(scored.Outputs["report"]);
        Assert.True(File.Exists(Path.Combine(report.Directory, "samples.json")));
    }

    [Fact]
    public async Task Captions_of_a_BLIP_2_caption_finetune_score_as_the_finetune_did_and_another_LLM_is_refused()
    {
        var (finetuned, _) = await chain.Chain.RunAsync(new Blip2CaptionFinetuneRunner(), "caption2",
            """{"image_size":16,"max_text_length":24,"batch_size":4,"warmup_steps":1,"num_beams":2,"min_new_tokens":1,"max_new_tokens":5,"epochs":1,"checkpoint_every_steps":100}""",
            StageChain.Inputs(("init", chain.Stage2), ("image_encoder", chain.Blip.Pretrained), ("llm", chain.LlmWeights), ("train", chain.Train), ("eval", chain.Test)));

        var (scored, _) = await chain.Chain.RunAsync(new EvaluateRunner(), "evaluate-caption2",
            """{"task":"caption","batch_size":4}""",
            StageChain.Inputs(("checkpoint", finetuned.Outputs["checkpoint"]), ("llm", chain.LlmWeights), ("dataset", chain.Test)));

        Assert.Equal(CaptionMetrics.Select(name => finetuned.Metrics[name]), CaptionMetrics.Select(name => scored.Metrics[name]));

        // The checkpoint records its LLM by digest: another is refused, naming the fix.
        var error = await Assert.ThrowsAsync<ArgumentException>(() => chain.Chain.RunAsync(new EvaluateRunner(), "evaluate-caption2-other",
            """{"task":"caption","batch_size":4}""",
            StageChain.Inputs(("checkpoint", finetuned.Outputs["checkpoint"]), ("llm", chain.Stage1), ("dataset", chain.Test))));
        Assert.Contains("bind llm to the artifact it records", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VQA_answers_of_a_BLIP_2_VQA_finetune_score_as_the_finetune_did()
    {
        var (finetuned, _) = await chain.Chain.RunAsync(new Blip2VqaFinetuneRunner(), "vqa2",
            """{"image_size":16,"max_text_length":48,"batch_size":4,"warmup_steps":1,"num_beams":2,"max_new_tokens":3,"epochs":1,"checkpoint_every_steps":100}""",
            StageChain.Inputs(
                ("init", chain.Stage2), ("qformer", chain.Stage1), ("image_encoder", chain.Blip.Pretrained), ("llm", chain.LlmWeights), ("train", chain.Train), ("eval", chain.Test)));

        var (scored, _) = await chain.Chain.RunAsync(new EvaluateRunner(), "evaluate-vqa2",
            """{"task":"vqa","batch_size":4}""",
            StageChain.Inputs(("checkpoint", finetuned.Outputs["checkpoint"]), ("llm", chain.LlmWeights), ("dataset", chain.Test)));

        // Every eval_ metric the finetune reports, per question type included; the baseline needs its training data.
        var evalMetrics = finetuned.Metrics.Keys.Where(name => name.StartsWith("eval_", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.Contains("eval_vqa_accuracy", evalMetrics);
        Assert.Equal(evalMetrics.Select(name => (name, finetuned.Metrics[name])), evalMetrics.Select(name => (name, scored.Metrics[name])));
    }
}
