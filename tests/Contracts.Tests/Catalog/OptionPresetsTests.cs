using System.Text.Json.Nodes;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Catalog.Options;
using Orchestrator.Contracts.Catalog.Presets;

namespace Contracts.Tests.Catalog;

/// <summary>Options per kind: the model's shape only where a model is built from scratch; presets split into shape and training.</summary>
public sealed class OptionPresetsTests
{
    private static readonly string[] Finetunes =
        ["blip.finetune.caption", "blip.finetune.retrieval", "blip.finetune.vqa", "blip.finetune.nlvr2", "blip2.finetune.caption", "blip2.finetune.retrieval", "blip2.finetune.vqa"];

    [Theory]
    [InlineData("blip.finetune.caption")]
    [InlineData("blip.finetune.retrieval")]
    [InlineData("blip.finetune.vqa")]
    [InlineData("blip.finetune.nlvr2")]
    [InlineData("blip2.finetune.caption")]
    [InlineData("blip2.finetune.retrieval")]
    [InlineData("blip2.finetune.vqa")]
    public void A_finetune_refuses_shape_options_and_says_where_its_shape_comes_from(string name)
    {
        var kind = StageKindCatalog.Find(name)!;

        var errors = OptionsBinder.Bind(kind, new JsonObject { ["text_layers"] = 4, ["patch_size"] = 16, ["image_size"] = 48 }, "/stages/2/config").Errors;

        Assert.Equal(["/stages/2/config/text_layers", "/stages/2/config/patch_size"], errors.Select(error => error.Path).ToArray());
        Assert.Equal(
            $"option 'text_layers' sets the model's shape, which kind {name} takes from its input checkpoint, not from options; " +
            "remove 'text_layers' (a shape is chosen where a model is trained from scratch, as in blip.pretrain)",
            errors[0].Message);
    }

    [Fact]
    public void Only_the_kind_that_builds_its_model_from_scratch_has_shape_options()
    {
        var withShape = StageKindCatalog.All
            .Where(kind => OptionsBinder.OptionProperties(kind.OptionsType).Any(property => OptionsBinder.OptionName(property) == "vision_width"))
            .Select(kind => kind.Name);

        Assert.Equal(["blip.pretrain"], withShape);
        foreach (var name in Finetunes)
        {
            var options = OptionsBinder.OptionProperties(StageKindCatalog.Find(name)!.OptionsType).Select(OptionsBinder.OptionName);
            Assert.Equal(["image_size", "max_text_length"], options.Where(OptionPresets.ShapeKeys.Contains).Order());
        }
    }

    [Fact]
    public void Each_kind_has_only_the_options_it_uses()
    {
        static string[] Names<T>() => [.. OptionsBinder.OptionProperties(typeof(T)).Select(OptionsBinder.OptionName)];

        // The retrieval model has no decoder, so no LM loss to smooth; the captioner has no ITC or ITM.
        Assert.DoesNotContain("label_smoothing", Names<BlipRetrievalOptions>());
        Assert.Contains("label_smoothing", Names<BlipPretrainOptions>());
        Assert.DoesNotContain("queue_size", Names<BlipCaptionOptions>());
        var pretrainLessModel = Names<BlipPretrainOptions>()
            .Where(name => !OptionPresets.ShapeKeys.Contains(name) || name is "image_size" or "max_text_length")
            .Where(name => name != "label_smoothing");
        Assert.Equal(pretrainLessModel.Order(), Names<BlipRetrievalOptions>().Order());
    }

    [Fact]
    public void A_kind_preset_is_the_shape_values_the_kind_has_and_its_training_values()
    {
        var pretrain = StageKindCatalog.Find("blip.pretrain")!.Presets;
        var retrieval = StageKindCatalog.Find("blip.finetune.retrieval")!.Presets;
        var caption = StageKindCatalog.Find("blip.finetune.caption")!.Presets;

        Assert.Equal(["tiny", "base", "large"], OptionPresets.Names);
        Assert.All(StageKindCatalog.All.Where(kind => typeof(TrainingOptions).IsAssignableFrom(kind.OptionsType)),
            kind => Assert.Equal(OptionPresets.Names, kind.Presets.Keys));
        Assert.Equal(
            """{"image_size":224,"patch_size":16,"vision_width":768,"vision_depth":12,"vision_heads":12,"text_width":768,"text_layers":12,"text_heads":12,"embed_dim":256,"max_text_length":35,"queue_size":57600}""",
            pretrain["base"].ToJsonString());
        Assert.Equal("""{"image_size":224,"max_text_length":35,"queue_size":57600}""", retrieval["base"].ToJsonString());
        Assert.Equal(
            """{"image_size":32,"max_text_length":24,"queue_size":64,"momentum":0.99,"alpha":0.0,"learning_rate":0.001,"itm_hard_negative_share":0.0}""",
            retrieval["tiny"].ToJsonString());
        Assert.Equal("""{"image_size":224,"max_text_length":35}""", caption["large"].ToJsonString());
        // BLIP's VQA and NLVR2 configs (configs/vqa.yaml, nlvr.yaml): their image sides, epochs, learning rates, no warmup.
        Assert.Equal(
            """{"image_size":480,"max_text_length":35,"epochs":10,"learning_rate":2e-5,"min_learning_rate":0.0,"warmup_steps":0}""",
            StageKindCatalog.Find("blip.finetune.vqa")!.Presets["base"].ToJsonString());
        Assert.Equal(
            """{"image_size":384,"max_text_length":35,"epochs":15,"learning_rate":3e-5,"min_learning_rate":0.0,"warmup_steps":0}""",
            StageKindCatalog.Find("blip.finetune.nlvr2")!.Presets["base"].ToJsonString());
        Assert.Equal("""{"image_size":32,"max_text_length":24,"learning_rate":0.0005}""", StageKindCatalog.Find("blip.finetune.nlvr2")!.Presets["tiny"].ToJsonString());
        Assert.Empty(StageKindCatalog.Find("blip.capfilt")!.Presets);
    }

    [Fact]
    public void A_finetune_keeps_the_effective_values_the_examples_had()
    {
        var retrieval = (BlipRetrievalOptions)OptionsBinder.Bind(
            StageKindCatalog.Find("blip.finetune.retrieval")!, new JsonObject { ["preset"] = "tiny", ["itm_hard_negative_share"] = 0.5 }, "").Options;
        var caption = (BlipCaptionOptions)OptionsBinder.Bind(
            StageKindCatalog.Find("blip.finetune.caption")!, new JsonObject { ["preset"] = "base" }, "").Options;

        Assert.Equal((32, 24, 64, 0.99, 0.0, 0.001, 0.5),
            (retrieval.ImageSize, retrieval.MaxTextLength, retrieval.QueueSize, retrieval.Momentum, retrieval.Alpha, retrieval.LearningRate, retrieval.ItmHardNegativeShare));
        Assert.Equal((224, 35), (caption.ImageSize, caption.MaxTextLength));
    }
}
