using System.Text.Json;
using Trainer.Worker.Runners;
using Trainer.Worker.Tests.Capfilt;
using VisionLanguage.Tasks.Scoring;

namespace Trainer.Worker.Tests.Training;

/// <summary>
/// <c>evaluate</c> scores a checkpoint with the very evaluation its finetune ran at its end: on the same split, with the
/// same reading and decoding, the scores are the finetune's own, exactly.
/// </summary>
public sealed class EvaluateRunnerTests(TinyBlipChain chain) : IClassFixture<TinyBlipChain>
{
    private static readonly string[] RetrievalMetrics = ["eval_i2t_r1", "eval_i2t_r5", "eval_i2t_r10", "eval_t2i_r1", "eval_t2i_r5", "eval_t2i_r10", "eval_r_mean"];

    [Fact]
    public async Task Retrieval_of_a_finetuned_filter_scores_the_test_split_as_the_finetune_did_and_writes_the_report()
    {
        var (finetuned, _) = await chain.Chain.RunAsync(new BlipRetrievalFinetuneRunner(chain.Data), "filter",
            $$"""{ {{TinyBlipChain.RetrievalOptions}}, "epochs":1,"checkpoint_every_steps":100}""",
            StageChain.Inputs(("init", chain.Pretrained), ("train", chain.Human), ("eval", chain.Test)));

        var (scored, _) = await chain.Chain.RunAsync(new EvaluateRunner(), "evaluate",
            """{"task":"retrieval","batch_size":4,"max_text_length":16,"eval_top_k":4}""",
            StageChain.Inputs(("checkpoint", finetuned.Outputs["checkpoint"]), ("dataset", chain.Test)));

        Assert.Equal(RetrievalMetrics.Select(name => finetuned.Metrics[name]), RetrievalMetrics.Select(name => scored.Metrics[name]));
        Assert.Equal("report.evaluation", scored.Outputs["report"].Type);
        var report = await chain.Chain.Store.FetchAsync(scored.Outputs["report"]);
        var written = JsonSerializer.Deserialize<Dictionary<string, double>>(await File.ReadAllTextAsync(Path.Combine(report.Directory, EvaluateTask.MetricsFile)))!;
        Assert.Equal(scored.Metrics.OrderBy(entry => entry.Key), written.OrderBy(entry => entry.Key));
    }

    [Fact]
    public async Task Captions_of_a_finetuned_captioner_score_the_test_split_as_the_finetune_did()
    {
        var (finetuned, _) = await chain.Chain.RunAsync(new BlipCaptionRunner(), "captioner",
            $$"""{ {{TinyBlipChain.DataSizes}}, "epochs":1,"checkpoint_every_steps":100}""",
            StageChain.Inputs(("init", chain.Pretrained), ("train", chain.Human), ("eval", chain.Test)));

        var (scored, _) = await chain.Chain.RunAsync(new EvaluateRunner(), "evaluate",
            """{"task":"caption","batch_size":4}""",
            StageChain.Inputs(("checkpoint", finetuned.Outputs["checkpoint"]), ("dataset", chain.Test)));

        Assert.Equal(4, scored.Metrics["eval_images"]);
        Assert.Equal(
            (finetuned.Metrics["eval_bleu4"], finetuned.Metrics["eval_cider"]),
            (scored.Metrics["eval_bleu4"], scored.Metrics["eval_cider"]));
        var report = await chain.Chain.Store.FetchAsync(scored.Outputs["report"]);
        Assert.True(File.Exists(Path.Combine(report.Directory, "samples.json")));
    }
}
