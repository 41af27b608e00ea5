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
