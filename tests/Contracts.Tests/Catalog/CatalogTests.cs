using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Specs;

namespace Contracts.Tests.Catalog;

public sealed class CatalogTests
{
    [Theory]
    [InlineData("dataset.synthetic")]
    [InlineData("dataset.import")]
    [InlineData("blip.pretrain")]
    [InlineData("blip.finetune.caption")]
    [InlineData("blip.finetune.retrieval")]
    [InlineData("blip.capfilt")]
    [InlineData("blip2.stage1")]
    [InlineData("blip2.stage2")]
    [InlineData("blip.finetune.vqa")]
    [InlineData("blip.finetune.nlvr2")]
    [InlineData("blip2.finetune.caption")]
    [InlineData("blip2.finetune.retrieval")]
    [InlineData("blip2.finetune.vqa")]
    public void Every_kind_of_the_design_is_declared_and_its_defaults_are_valid(string name)
    {
        var kind = StageKindCatalog.Find(name);

        Assert.NotNull(kind);
        Assert.NotEmpty(kind.Outputs);
        var errors = OptionsBinder.Bind(kind, [], "").Errors;
        Assert.True(errors.Count == 0 || name == "dataset.import", string.Join("; ", errors));
    }

    [Fact]
    public void Kind_names_are_unique()
    {
        Assert.Equal(StageKindCatalog.All.Count, StageKindCatalog.All.Select(kind => kind.Name).Distinct().Count());
    }

    [Fact]
    public void A_blip2_retrieval_finetune_output_continues_a_retrieval_finetune_but_feeds_no_stage_2_and_no_llm_finetune()
    {
        var retrieval = StageKindCatalog.Find("blip2.finetune.retrieval")!.FindOutput("checkpoint")!.Type;

        Assert.True(StageKindCatalog.Find("blip2.finetune.retrieval")!.FindInput("init")!.Fits(retrieval));
        Assert.False(StageKindCatalog.Find("blip2.stage2")!.FindInput("qformer")!.Fits(retrieval));
        Assert.False(StageKindCatalog.Find("blip2.finetune.caption")!.FindInput("init")!.Fits(retrieval));
        Assert.False(StageKindCatalog.Find("blip2.finetune.vqa")!.FindInput("init")!.Fits(retrieval));
    }

    [Fact]
    public void Every_dataset_output_says_what_it_holds_and_every_dataset_input_what_it_needs()
    {
        // A dataset output without Holds, or a dataset input without Needs, would silently escape the submission check.
        var outputs = StageKindCatalog.All.SelectMany(kind => kind.Outputs.Where(output => output.Type.Fits(ArtifactType.Dataset)).Select(output => (kind.Name, output)));
        Assert.All(outputs, entry => Assert.True(entry.output.Holds.Count > 0, $"{entry.Name}.{entry.output.Name} says nothing of what it holds"));
        var inputs = StageKindCatalog.All.SelectMany(kind => kind.Inputs.Where(input => input.Accepts.Contains(ArtifactType.Dataset)).Select(input => (kind.Name, input)));
        Assert.All(inputs, entry => Assert.True(entry.input.Needs != DatasetContent.None, $"input {entry.input.Name} of {entry.Name} says nothing of what it needs"));
    }

    [Theory]
    [InlineData("{}", DatasetContent.Captions)]
    [InlineData("""{"vqa_questions":2}""", DatasetContent.Captions | DatasetContent.VqaQuestions)]
    [InlineData("""{"vqa_questions":1,"nlvr2_pairs":3}""", DatasetContent.Captions | DatasetContent.VqaQuestions | DatasetContent.Nlvr2Statements)]
    public void A_synthetic_split_holds_captions_and_what_its_options_add(string config, DatasetContent holds)
    {
        var kind = StageKindCatalog.Find("dataset.synthetic")!;
        var bound = OptionsBinder.Bind(kind, System.Text.Json.Nodes.JsonNode.Parse(config)!.AsObject(), "");

        Assert.Equal(holds, kind.FindOutput("test")!.HoldsUnder(OptionsBinder.ToJson(bound.Options)));
    }

    [Theory]
    [InlineData("checkpoint.blip.captioner", "checkpoint.blip", true)]
    [InlineData("checkpoint.blip", "checkpoint.blip", true)]
    [InlineData("checkpoint.blip", "checkpoint.blip.captioner", false)]
    [InlineData("checkpoint.blipx", "checkpoint.blip", false)]
    [InlineData("dataset", "checkpoint.blip", false)]
    public void A_narrower_artifact_type_fits_a_wider_input(string output, string input, bool fits)
    {
        Assert.Equal(fits, new ArtifactType(output).Fits(new ArtifactType(input)));
    }

    [Theory]
    [InlineData("data.web", true, "data", "web")]
    [InlineData("pretrain.checkpoint", true, "pretrain", "checkpoint")]
    [InlineData("nodot", false, "", "")]
    [InlineData(".web", false, "", "")]
    [InlineData("data.", false, "", "")]
    public void Output_references_parse_as_stage_dot_output(string text, bool valid, string stage, string output)
    {
        Assert.Equal(valid, OutputReference.TryParse(text, out var reference));
        Assert.Equal((stage, output), (reference.StageId, reference.Output));
    }
}
