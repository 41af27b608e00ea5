using System.Text.Json.Nodes;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Catalog.Options;
using Trainer.Worker.Runners;
using VisionLanguage.Models.Blip;

namespace Trainer.Worker.Tests.Training;

/// <summary>The model factories read the presets the catalog applies: a bench builds the model a stage builds.</summary>
public sealed class BlipPresetsTests
{
    [Theory]
    [InlineData("tiny")]
    [InlineData("base")]
    [InlineData("large")]
    public void A_preset_builds_the_model_and_learning_rate_a_pretrain_stage_of_that_preset_builds(string preset)
    {
        var options = (BlipPretrainOptions)OptionsBinder.Bind(
            StageKindCatalog.Find("blip.pretrain")!, new JsonObject { ["preset"] = preset }, "").Options;

        Assert.Equal(BlipOptionsMapping.ModelConfig(options, vocabSize: 300, padTokenId: 0), BlipPresets.Pretrain(preset, vocabSize: 300, padTokenId: 0));
        Assert.Equal(options.MaxTextLength, BlipPresets.MaxTextLength(preset));
        Assert.Equal(options.LearningRate, BlipPresets.PretrainLearningRate(preset) ?? new BlipPretrainOptions().LearningRate);
    }

    [Fact]
    public void Every_catalog_preset_has_a_model()
    {
        Assert.Equal(StageKindCatalog.Find("blip.pretrain")!.Presets.Keys, BlipPresets.Names);
        Assert.Throws<ArgumentException>(() => BlipPresets.Pretrain("huge", 300, 0));
    }
}
