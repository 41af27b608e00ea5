using System.Text.Json.Nodes;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Catalog.Options;

namespace Contracts.Tests.Catalog;

public sealed class OptionsBinderTests
{
    private static readonly StageKind Pretrain = StageKindCatalog.Find("blip.pretrain")!;

    [Fact]
    public void Defaults_come_from_the_class_and_the_default_preset()
    {
        var bound = OptionsBinder.Bind(Pretrain, [], "/config");

        Assert.Empty(bound.Errors);
        var options = Assert.IsType<BlipPretrainOptions>(bound.Options);
        Assert.Equal("tiny", options.Preset);
        Assert.Equal(32, options.ImageSize);
        Assert.Equal((0.99, 0.0, 64, 0.001), (options.Momentum, options.Alpha, options.QueueSize, options.LearningRate));
    }

    [Fact]
    public void The_base_preset_has_the_papers_shapes_and_queue_and_explicit_values_override_it()
    {
        var bound = OptionsBinder.Bind(Pretrain, new JsonObject { ["preset"] = "base", ["epochs"] = 20 }, "/config");

        Assert.Empty(bound.Errors);
        var options = (BlipPretrainOptions)bound.Options;
        Assert.Equal((224, 16, 768, 12, 12), (options.ImageSize, options.PatchSize, options.VisionWidth, options.VisionDepth, options.TextLayers));
        Assert.Equal((57600, 0.995, 0.4), (options.QueueSize, options.Momentum, options.Alpha));
        Assert.Equal(20, options.Epochs);
    }

    [Fact]
    public void Every_bad_option_is_reported_with_its_path()
    {
        var config = new JsonObject
        {
            ["epochs"] = "three",
            ["learning_rat"] = 0.1,
            ["lr_schedule"] = "linear",
            ["momentum"] = 1.5,
        };

        var errors = OptionsBinder.Bind(Pretrain, config, "/stages/1/config").Errors;

        Assert.Equal(
            ["/stages/1/config/epochs", "/stages/1/config/learning_rat", "/stages/1/config/lr_schedule", "/stages/1/config/momentum"],
            errors.Select(error => error.Path).ToArray());
        Assert.Contains("must be a whole number, but is the string \"three\"", errors[0].Message);
        Assert.Contains("did you mean 'learning_rate'?", errors[1].Message);
        Assert.Contains("one of cosine, step", errors[2].Message);
    }

    [Fact]
    public void Range_and_cross_field_rules_are_both_reported()
    {
        var errors = OptionsBinder.Bind(Pretrain, new JsonObject { ["momentum"] = 1.5, ["batch_size"] = 48 }, "/c").Errors;

        Assert.Equal(["/c/momentum", "/c/queue_size"], errors.Select(error => error.Path).Order().ToArray());
        Assert.Contains("option 'momentum' must be between 0 and 1", errors.Single(error => error.Path == "/c/momentum").Message);
        Assert.Contains("batch_size 48 must divide queue_size 64", errors.Single(error => error.Path == "/c/queue_size").Message);
    }

    [Fact]
    public void Several_swap_candidates_without_swapped_negatives_are_rejected_with_the_fix()
    {
        var error = Assert.Single(OptionsBinder.Bind(Pretrain, new JsonObject { ["itm_swap_candidates"] = 4 }, "/c").Errors);
        var swapped = OptionsBinder.Bind(Pretrain, new JsonObject { ["itm_swap_candidates"] = 4, ["itm_swap_negative_share"] = 0.5 }, "/c");

        Assert.Equal("/c/itm_swap_candidates", error.Path);
        Assert.Equal(
            "itm_swap_candidates is 4, but itm_swap_negative_share is 0, so no caption is swapped; raise itm_swap_negative_share or set itm_swap_candidates to 1",
            error.Message);
        Assert.Empty(swapped.Errors);
    }

    [Fact]
    public void An_unknown_preset_names_the_known_ones()
    {
        var error = Assert.Single(OptionsBinder.Bind(Pretrain, new JsonObject { ["preset"] = "huge" }, "/c").Errors);

        Assert.Equal("/c/preset", error.Path);
        Assert.Equal("unknown preset 'huge' for kind blip.pretrain; use one of: tiny, base, large", error.Message);
    }

    [Fact]
    public void Resolved_options_read_back_to_the_same_values()
    {
        var bound = OptionsBinder.Bind(Pretrain, new JsonObject { ["preset"] = "large", ["horizontal_flip"] = true }, "");
        var json = OptionsBinder.ToJson(bound.Options).ToJsonString();

        var read = OptionsBinder.Read<BlipPretrainOptions>(Pretrain, json);

        Assert.Equal(1024, read.VisionWidth);
        Assert.True(read.HorizontalFlip);
        Assert.Equal(json, OptionsBinder.ToJson(read).ToJsonString());
    }

    [Fact]
    public void Reading_options_a_worker_cannot_honour_throws_with_every_problem()
    {
        var exception = Assert.Throws<InvalidOptionsException>(() =>
            OptionsBinder.Read<BlipPretrainOptions>(Pretrain, """{"epochs": -1, "nonsense": 1}"""));

        Assert.Equal(2, exception.Errors.Count);
        Assert.StartsWith("invalid options for kind blip.pretrain: nonsense: unknown option 'nonsense'", exception.Message);
    }

    [Fact]
    public void Dataset_import_reads_captions_unless_told_vqa_or_nlvr2_and_refuses_other_formats()
    {
        var kind = StageKindCatalog.Find("dataset.import")!;
        JsonObject Config(string? format) => format is null
            ? new() { ["annotations"] = "/data/a.json", ["image_root"] = "/data" }
            : new() { ["annotations"] = "/data/a.json", ["image_root"] = "/data", ["format"] = format };

        Assert.Equal(DatasetFormat.Caption, Assert.IsType<DatasetImportOptions>(OptionsBinder.Bind(kind, Config(null), "/c").Options).Format);
        Assert.Equal(DatasetFormat.Vqa, Assert.IsType<DatasetImportOptions>(OptionsBinder.Bind(kind, Config("vqa"), "/c").Options).Format);
        Assert.Equal(DatasetFormat.Nlvr2, Assert.IsType<DatasetImportOptions>(OptionsBinder.Bind(kind, Config("nlvr2"), "/c").Options).Format);
        var error = Assert.Single(OptionsBinder.Bind(kind, Config("coco"), "/c").Errors);
        Assert.Equal(("/c/format", "option 'format' of kind dataset.import must be one of caption, vqa, nlvr2, but is the string \"coco\"; give one of caption, vqa, nlvr2, e.g. format: caption"),
            (error.Path, error.Message));
    }

    [Fact]
    public void Synthetic_vqa_is_off_by_default_and_its_options_are_bounded()
    {
        var kind = StageKindCatalog.Find("dataset.synthetic")!;

        var defaults = Assert.IsType<SyntheticDatasetOptions>(OptionsBinder.Bind(kind, [], "/c").Options);
        Assert.Equal((0, 0.2, 0), (defaults.VqaQuestions, defaults.VqaDisagreement, defaults.Nlvr2Pairs));
        var errors = OptionsBinder.Bind(kind, new JsonObject { ["vqa_questions"] = 5, ["vqa_disagreement"] = 1.5, ["nlvr2_pairs"] = 9 }, "/c").Errors;
        Assert.Equal(["/c/nlvr2_pairs", "/c/vqa_disagreement", "/c/vqa_questions"], errors.Select(e => e.Path).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Required_options_must_be_given()
    {
        var errors = OptionsBinder.Bind(StageKindCatalog.Find("dataset.import")!, [], "/c").Errors;

        Assert.Equal(["/c/annotations", "/c/image_root"], errors.Select(error => error.Path).Order().ToArray());
    }
}
