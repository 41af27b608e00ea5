using Orchestrator.Contracts.Messages;
using Trainer.Worker.Runners;
using Trainer.Worker.Tests.Capfilt;
using VisionLanguage.Data;
using VisionLanguage.Tasks;
using VisionLanguage.Training;

namespace Trainer.Worker.Tests.Training;

public sealed class BlipRetrievalFinetuneRunnerTests(TinyBlipChain chain) : IClassFixture<TinyBlipChain>
{
    private static readonly string Options = $$"""{ {{TinyBlipChain.RetrievalOptions}}, "epochs":2,"checkpoint_every_steps":2}""";

    [Fact]
    public async Task Finetunes_from_init_evaluates_reranked_recall_both_ways_and_a_resumed_run_ends_identical()
    {
        var runner = new BlipRetrievalFinetuneRunner(chain.Data);
        var inputs = StageChain.Inputs(("init", chain.Pretrained), ("train", chain.Human), ("eval", chain.Test));

        var (result, runId) = await chain.Chain.RunAsync(runner, "filter", Options, inputs);

        // 8 human pairs in batches of 4 for 2 epochs: 4 steps, checkpoints at 2 and 4.
        Assert.Equal([2L, 4L], chain.Chain.Reports[runId].OfType<CheckpointSaved>().Select(report => report.Step));
        // 4 test images with 2 captions each: text→image recall@5 and image→text recall@10 cover every candidate.
        Assert.Equal(1.0, result.Metrics["eval_t2i_r5"]);
        Assert.Equal(1.0, result.Metrics["eval_i2t_r10"]);
        Assert.InRange(result.Metrics["eval_i2t_r1"], 0.0, 1.0);
        Assert.InRange(result.Metrics["eval_t2i_r1"], 0.0, 1.0);
        Assert.Equal("checkpoint.blip.retrieval", result.Outputs["checkpoint"].Type);
        var output = await chain.Chain.Store.FetchAsync(result.Outputs["checkpoint"]);
        Assert.Equal(
            [CheckpointFiles.Weights, CheckpointFiles.State, BlipVocabulary.FileName],
            Directory.EnumerateFiles(output.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var pretrained = await chain.Chain.Store.FetchAsync(chain.Pretrained);
        Assert.Equal(
            await File.ReadAllTextAsync(Path.Combine(pretrained.Directory, BlipVocabulary.FileName)),
            await File.ReadAllTextAsync(Path.Combine(output.Directory, BlipVocabulary.FileName)));
        // The finetune has no shape options: its model is its init's (TinyBlipChain.Shape), with the finetune's queue.
        using (var finetuned = BlipCheckpointModel.Load(output.Directory, "output"))
        {
            Assert.Equal((32, 1, 32, 1, 16, 16), (finetuned.Model.Config.Vision.Width, finetuned.Model.Config.Vision.Depth,
                finetuned.Model.Config.Text.HiddenSize, finetuned.Model.Config.Text.Layers, finetuned.Model.Config.EmbedDim, finetuned.Model.Config.QueueSize));
        }


        var checkpoint = chain.Chain.Reports[runId].OfType<CheckpointSaved>().First(report => report.Step == 2).Checkpoint;
        var (resumed, _) = await chain.Chain.RunAsync(runner, "filter", Options, inputs, resumeFrom: checkpoint);

        var resumedOutput = await chain.Chain.Store.FetchAsync(resumed.Outputs["checkpoint"]);
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(output.Directory, CheckpointFiles.Weights)),
            await File.ReadAllBytesAsync(Path.Combine(resumedOutput.Directory, CheckpointFiles.Weights)));
        Assert.Equal(result.Metrics["eval_r_mean"], resumed.Metrics["eval_r_mean"]);
    }

    [Fact]
    public async Task Swapped_negatives_are_learnt_from_the_training_captions_and_change_what_the_filter_learns()
    {
        var runner = new BlipRetrievalFinetuneRunner(chain.Data);
        var inputs = StageChain.Inputs(("init", chain.Pretrained), ("train", chain.Web), ("train", chain.Human));
        const string Plain = $$"""{ {{TinyBlipChain.RetrievalOptions}}, "epochs":1,"checkpoint_every_steps":100}""";
        const string Swapped = $$"""{ {{TinyBlipChain.RetrievalOptions}}, "epochs":1,"checkpoint_every_steps":100,"itm_swap_negative_share":1.0}""";
        const string Hardest = $$"""{ {{TinyBlipChain.RetrievalOptions}}, "epochs":1,"checkpoint_every_steps":100,"itm_swap_negative_share":1.0,"itm_swap_candidates":4}""";

        var (plain, _) = await chain.Chain.RunAsync(runner, "filter", Plain, inputs);
        var (swapped, _) = await chain.Chain.RunAsync(runner, "filter", Swapped, inputs);
        var (hardest, _) = await chain.Chain.RunAsync(runner, "filter", Hardest, inputs);

        // Same seed, data and steps: only the ITM negatives differ, so the ITM loss and the weights do.
        Assert.NotEqual(plain.Metrics["loss_itm"], swapped.Metrics["loss_itm"]);
        Assert.NotEqual(swapped.Metrics["loss_itm"], hardest.Metrics["loss_itm"]);
        var plainWeights = await chain.Chain.Store.FetchAsync(plain.Outputs["checkpoint"]);
        var swappedWeights = await chain.Chain.Store.FetchAsync(swapped.Outputs["checkpoint"]);
        Assert.NotEqual(
            await File.ReadAllBytesAsync(Path.Combine(plainWeights.Directory, CheckpointFiles.Weights)),
            await File.ReadAllBytesAsync(Path.Combine(swappedWeights.Directory, CheckpointFiles.Weights)));

        // CapFilt loads the filter to score pairs: the swaps were needed for training only.
        using var filter = BlipCheckpointModel.Load(swappedWeights.Directory, "input 'filter'");
        Assert.Equal(1.0, filter.Model.Config.ItmSwapNegativeShare);
        using var hardestFilter = BlipCheckpointModel.Load((await chain.Chain.Store.FetchAsync(hardest.Outputs["checkpoint"])).Directory, "input 'filter'");
        Assert.Equal(4, hardestFilter.Model.Config.ItmSwapCandidates);
    }

    [Fact]
    public async Task Without_an_init_checkpoint_the_run_fails_naming_the_input()
    {
        var runner = new BlipRetrievalFinetuneRunner(chain.Data);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => chain.Chain.RunAsync(runner, "filter", Options, StageChain.Inputs(("train", chain.Human))));

        Assert.Contains("input 'init'", error.Message, StringComparison.Ordinal);
    }
}
