using System.Text.Json.Nodes;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Runners;
using Trainer.Worker.Tests.Capfilt;
using VisionLanguage.Data.Tokenizers;
using VisionLanguage.Models.Import;
using VisionLanguage.Models.Weights;
using VisionLanguage.Tasks.Blip2;
using VisionLanguage.Training;

namespace Trainer.Worker.Tests.Training;

/// <summary>
/// The frozen-LLM half of BLIP-2 on tiny shapes: <c>llm.pretrain</c> of both architectures on synthetic captions and VQA
/// texts, a stage-1 Q-Former, and <c>blip2.stage2</c> into each LLM, with its evaluation, its checkpoint and its resume.
/// Sizes keep each stage to seconds, not to learning anything (the learning test does that).
/// </summary>
public sealed class Blip2Stage2RunnerTests(TinyBlipChain chain) : IClassFixture<TinyBlipChain>
{
    private const string Llm = """
        "vocab_size":300,"hidden_size":32,"layers":1,"heads":2,"ffn_dim":64,"max_positions":64,"max_text_length":24,"batch_size":8,"epochs":1,"checkpoint_every_steps":100
        """;

    private const string Stage2 = """
        "image_size":16,"max_text_length":24,"batch_size":4,"warmup_steps":1,"num_beams":2,"caption_min_new_tokens":1,"caption_max_new_tokens":5,"vqa_max_new_tokens":3
        """;

    [Theory]
    [InlineData("opt", "opt_proj", @"^model\.decoder\.", "vocab.json")]
    [InlineData("t5", "t5_proj", @"^(shared|encoder|decoder|lm_head)\.", "spiece.model")]
    public async Task Pretrains_an_LLM_in_the_import_layout_then_trains_the_QFormer_into_it_frozen_evaluates_and_resumes_to_the_same_bits(
        string architecture, string projection, string llmNames, string tokenizerFile)
    {
        var (data, _) = await chain.Chain.RunAsync(new SyntheticDatasetRunner(), $"vqa-data-{architecture}",
            """{"images":10,"human_images":8,"test_images":4,"image_size":16,"seed":5,"vqa_questions":2}""", StageChain.Inputs());
        var (train, test) = (data.Outputs["human"], data.Outputs["test"]);

        var (llm, _) = await chain.Chain.RunAsync(new LlmPretrainRunner(), $"llm-{architecture}",
            $$"""{ {{Llm}}, "architecture":"{{architecture}}" }""", StageChain.Inputs(("train", data.Outputs["web"]), ("train", train), ("eval", test)));

        Assert.Equal("weights.llm", llm.Outputs["llm"].Type);
        Assert.True(double.IsFinite(llm.Metrics["loss_lm"]) && double.IsFinite(llm.Metrics["eval_loss"]));
        var llmFolder = await chain.Chain.Store.FetchAsync(llm.Outputs["llm"]);
        Assert.All(Safetensors.ReadEntries(Path.Combine(llmFolder.Directory, CheckpointImport.WeightsFile)), entry => Assert.Matches(llmNames, entry.Name));
        Assert.Equal(architecture, JsonNode.Parse(File.ReadAllText(Path.Combine(llmFolder.Directory, CheckpointImport.ConfigFile)))!["model_type"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(llmFolder.Directory, tokenizerFile)));
        Assert.Equal((int)llm.Metrics["vocab_size"], LlmTokenizer.Load(llmFolder.Directory, architecture).VocabularySize);
        // The layout is an import's: model.import reads the folder as it reads a downloaded checkpoint.
        var (reimport, _) = await chain.Chain.RunAsync(
            new ModelImportRunner(new ImportRootGuard([llmFolder.Directory])), $"reimport-{architecture}",
            $$"""{"path":"{{llmFolder.Directory}}","architecture":"{{architecture}}"}""", StageChain.Inputs());
        Assert.Equal("weights.llm", reimport.Outputs["llm"].Type);

        var (stage1, _) = await chain.Chain.RunAsync(new Blip2Stage1Runner(chain.Data), $"stage1-{architecture}",
            """{"image_size":16,"max_text_length":16,"batch_size":4,"warmup_steps":1,"num_query_token":4,"qformer_width":32,"qformer_layers":2,"qformer_heads":2,"embed_dim":16,"eval_top_k":4,"vision_layer":-1,"epochs":1,"checkpoint_every_steps":100}""",
            StageChain.Inputs(("image_encoder", chain.Pretrained), ("train", train)));
        var inputs = StageChain.Inputs(
            ("qformer", stage1.Outputs["checkpoint"]), ("image_encoder", chain.Pretrained), ("llm", llm.Outputs["llm"]), ("train", train), ("eval", test), ("vqa_eval", test));
        var options = $$"""{ {{Stage2}}, "epochs":2,"checkpoint_every_steps":2}""";

        var (result, runId) = await chain.Chain.RunAsync(new Blip2Stage2Runner(), $"stage2-{architecture}", options, inputs);

        // 8 human pairs in batches of 4 for 2 epochs: 4 steps, checkpoints at 2 and 4.
        Assert.Equal([2L, 4L], chain.Chain.Reports[runId].OfType<CheckpointSaved>().Select(report => report.Step));
        Assert.True(double.IsFinite(result.Metrics["loss_lm"]));
        Assert.InRange(result.Metrics["trainable_share"], 0.01, 0.99);
        foreach (var prefix in new[] { "", "baseline_" })
        {
            Assert.Equal(4, result.Metrics[prefix + "eval_images"]);
            Assert.InRange(result.Metrics[prefix + "eval_bleu4"], 0.0, 1.0);
            Assert.True(result.Metrics[prefix + "eval_caption_tokens_per_second"] > 0);
            Assert.InRange(result.Metrics[prefix + "eval_vqa_accuracy"], 0.0, 1.0);
            Assert.Equal(8, result.Metrics[prefix + "eval_questions"]); // 4 test images × 2 questions
        }

        var output = await chain.Chain.Store.FetchAsync(result.Outputs["checkpoint"]);
        var names = Safetensors.ReadEntries(Path.Combine(output.Directory, CheckpointFiles.Weights)).Select(entry => entry.Name).ToList();
        Assert.Contains($"{projection}.weight", names);
        Assert.Contains("Qformer.bert.encoder.layer.0.crossattention.self.key.weight", names);
        Assert.DoesNotContain(names, name => name.Contains("word_embeddings", StringComparison.Ordinal) || System.Text.RegularExpressions.Regex.IsMatch(name, llmNames));
        var sources = JsonNode.Parse(File.ReadAllText(Path.Combine(output.Directory, Blip2Stage2Task.SourcesFile)))!;
        Assert.Equal(llm.Outputs["llm"].ContentDigest, sources["llm"]!["content_digest"]!.GetValue<string>());
        Assert.Equal(stage1.Outputs["checkpoint"].ContentDigest, sources["qformer"]!["content_digest"]!.GetValue<string>());

        var checkpoint = chain.Chain.Reports[runId].OfType<CheckpointSaved>().First(report => report.Step == 2).Checkpoint;
        var (resumed, _) = await chain.Chain.RunAsync(new Blip2Stage2Runner(), $"stage2-{architecture}", options, inputs, resumeFrom: checkpoint);
        var resumedOutput = await chain.Chain.Store.FetchAsync(resumed.Outputs["checkpoint"]);
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(output.Directory, CheckpointFiles.Weights)),
            await File.ReadAllBytesAsync(Path.Combine(resumedOutput.Directory, CheckpointFiles.Weights)));
    }

    [Fact]
    public async Task An_image_encoder_other_than_the_one_stage_1_recorded_is_refused_by_name()
    {
        var (stage1, _) = await chain.Chain.RunAsync(new Blip2Stage1Runner(chain.Data), "stage1-mismatch",
            """{"image_size":16,"max_text_length":16,"batch_size":4,"warmup_steps":1,"num_query_token":4,"qformer_width":32,"qformer_layers":2,"qformer_heads":2,"embed_dim":16,"eval_top_k":4,"vision_layer":-1,"epochs":1,"checkpoint_every_steps":100}""",
            StageChain.Inputs(("image_encoder", chain.Pretrained), ("train", chain.Human)));
        var (llm, _) = await chain.Chain.RunAsync(new LlmPretrainRunner(), "llm-mismatch", $$"""{ {{Llm}} }""", StageChain.Inputs(("train", chain.Human)));

        var error = await Assert.ThrowsAsync<ArgumentException>(() => chain.Chain.RunAsync(new Blip2Stage2Runner(), "stage2-mismatch", $$"""{ {{Stage2}} }""",
            StageChain.Inputs(("qformer", stage1.Outputs["checkpoint"]), ("image_encoder", chain.Filter), ("llm", llm.Outputs["llm"]), ("train", chain.Human))));

        Assert.Contains("the Q-Former was trained against", error.Message, StringComparison.Ordinal);
        Assert.Contains("bind image_encoder to the artifact stage 1 used", error.Message, StringComparison.Ordinal);
    }
}
