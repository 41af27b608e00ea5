using System.Text.Json;
using Trainer.Worker.Runners;
using VisionLanguage.Data;
using VisionLanguage.Tasks.Capfilt;

namespace Trainer.Worker.Tests.Capfilt;

/// <summary>
/// The CapFilt pipeline in miniature, through the runners as the orchestrator would chain them: synthetic data, pretrain,
/// captioner and filter (the fixture), then capfilt and a re-pretrain from scratch on the kept pairs plus the human
/// split. It checks that the outputs agree with each other, not that anything learns (that is docs/results.md).
/// </summary>
public sealed class CapfiltPipelineTests(TinyBlipChain chain) : IClassFixture<TinyBlipChain>
{
    private const int CaptionsPerImage = 2;
    private const double Threshold = 0.3;

    [Fact]
    public async Task Capfilt_keeps_exactly_the_candidates_above_the_threshold_and_a_model_pretrains_again_on_them()
    {
        var (capfilt, _) = await chain.Chain.RunAsync(new BlipCapfiltRunner(), "capfilt",
            $$"""{"captions_per_image":{{CaptionsPerImage}},"threshold":{{Threshold}},"shard_size":8,"seed":1}""",
            StageChain.Inputs(("captioner", chain.Captioner), ("filter", chain.Filter), ("web", chain.Web)));

        var scores = CapfiltScoresFile.Read(
            Path.Combine((await chain.Chain.Store.FetchAsync(capfilt.Outputs["scores"])).Directory, CapfiltScoresFile.FileName), "scores");
        Assert.Equal(TinyBlipChain.WebImages * (1 + CaptionsPerImage), scores.Count);
        var above = scores.Where(candidate => candidate.Score >= Threshold && candidate.Caption.Length > 0).ToList();
        Assert.NotEmpty(above);
        var dataset = await chain.Chain.Store.FetchAsync(capfilt.Outputs["dataset"]);
        using (var document = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dataset.Directory, BlipAnnotationReader.FileName))))
        {
            Assert.Equal(
                above.Select(candidate => (candidate.Image, candidate.Caption)),
                document.RootElement.EnumerateArray().Select(entry => (entry.GetProperty("image").GetString()!, entry.GetProperty("caption").GetString()!)));
        }

        Assert.Equal(above.Count, capfilt.Metrics["kept_pairs"]);
        Assert.Equal((double)above.Count(c => c.Source == CaptionSource.Web) / TinyBlipChain.WebImages, capfilt.Metrics["kept_web_share"]);
        Assert.Equal(
            (double)above.Count(c => c.Source == CaptionSource.Synthetic) / (TinyBlipChain.WebImages * CaptionsPerImage),
            capfilt.Metrics["kept_synthetic_share"]);

        var (repretrain, _) = await chain.Chain.RunAsync(new BlipPretrainRunner(chain.Data), "repretrain",
            $$"""{ {{TinyBlipChain.PretrainOptions}}, "epochs":1,"checkpoint_every_steps":100}""",
            StageChain.Inputs(("train", capfilt.Outputs["dataset"]), ("train", chain.Human), ("eval", chain.Test)));

        Assert.Equal(1.0, repretrain.Metrics["eval_t2i_r5"]);
        var output = await chain.Chain.Store.FetchAsync(repretrain.Outputs["checkpoint"]);
        var web = await chain.Chain.Store.FetchAsync(chain.Web);
        Assert.Equal(
            await File.ReadAllTextAsync(Path.Combine(web.Directory, BlipVocabulary.FileName)),
            await File.ReadAllTextAsync(Path.Combine(output.Directory, BlipVocabulary.FileName)));
    }
}
