using System.Text.Json.Nodes;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Catalog.Options;

namespace Contracts.Tests.Catalog;

/// <summary>The BLIP-2 finetunes' options: LAVIS's and the paper's defaults, and the errors a user can cause, named.</summary>
public sealed class Blip2FinetuneOptionsTests
{
    [Fact]
    public void The_defaults_are_lavis_and_the_papers()
    {
        var caption = (Blip2CaptionFinetuneOptions)OptionsBinder.Bind(StageKindCatalog.Find("blip2.finetune.caption")!, new JsonObject { ["preset"] = "base" }, "").Options;
        var retrieval = (Blip2RetrievalFinetuneOptions)OptionsBinder.Bind(StageKindCatalog.Find("blip2.finetune.retrieval")!, new JsonObject { ["preset"] = "base" }, "").Options;
        var vqa = (Blip2VqaFinetuneOptions)OptionsBinder.Bind(StageKindCatalog.Find("blip2.finetune.vqa")!, new JsonObject { ["preset"] = "base" }, "").Options;

        Assert.Equal(("a photo of", 5, 8, 30, 1e-5, 1000, 5), (caption.Prompt, caption.NumBeams, caption.MinNewTokens, caption.MaxNewTokens, caption.LearningRate, caption.WarmupSteps, caption.Epochs));
        Assert.Equal((0.1, 1.0, 128, 1e-5), (retrieval.LabelSmoothing, retrieval.ItmHardNegativeShare, retrieval.EvalTopK, retrieval.LearningRate));
        Assert.Equal(("Question: {} Answer:", 5, 10, -1.0), (vqa.Prompt, vqa.NumBeams, vqa.MaxNewTokens, vqa.LengthPenalty));
    }

    [Fact]
    public void A_caption_finetune_with_more_min_than_max_new_tokens_is_refused_naming_both()
    {
        var errors = OptionsBinder.Bind(StageKindCatalog.Find("blip2.finetune.caption")!, new JsonObject { ["min_new_tokens"] = 12, ["max_new_tokens"] = 10 }, "/stages/3/config").Errors;

        var error = Assert.Single(errors);
        Assert.Equal("min_new_tokens 12 is above max_new_tokens 10; lower it", error.Message);
    }

    [Fact]
    public void A_vqa_prompt_without_a_place_for_the_question_is_refused_with_an_example()
    {
        var errors = OptionsBinder.Bind(StageKindCatalog.Find("blip2.finetune.vqa")!, new JsonObject { ["prompt"] = "Answer:" }, "/stages/3/config").Errors;

        var error = Assert.Single(errors);
        Assert.Equal("prompt \"Answer:\" has no {} for the question; write it where the question goes, e.g. \"Question: {} Answer:\"", error.Message);
    }

    [Fact]
    public void A_retrieval_finetune_takes_no_llm_options()
    {
        var errors = OptionsBinder.Bind(StageKindCatalog.Find("blip2.finetune.retrieval")!, new JsonObject { ["prompt"] = "a photo of" }, "/stages/3/config").Errors;

        Assert.Equal("/stages/3/config/prompt", Assert.Single(errors).Path);
    }
}
