using System.Text.Json.Nodes;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Runners;
using Trainer.Worker.Tests.Capfilt;
using VisionLanguage.Models.Weights;
using VisionLanguage.Tasks.Blip2;
using VisionLanguage.Training;

namespace Trainer.Worker.Tests.Training;

/// <summary>
/// What the BLIP-2 finetunes start from, made once at tiny sizes on <see cref="TinyBlipChain"/>'s data and BLIP pretrain:
/// synthetic scenes with VQA questions, a stage-1 Q-Former against the pretrain's ViT, an OPT LM made here and a stage 2
/// into it, stage 1 and stage 2 each evaluated on the test split (<see cref="Stage1Metrics"/>, <see cref="Stage2Metrics"/>).
/// Sizes keep each stage to seconds, not to learning anything (the learning tests do that). Shared by the classes of
/// collection <see cref="Collection"/>.
/// </summary>
public sealed class TinyBlip2Chain : IAsyncLifetime
{
    public const string Collection = "tiny BLIP-2 chain";

    /// <summary>Stage 2's options: its caption evaluation at the defaults (beam 5, 8 to 30 new tokens).</summary>
    public const string Stage2Options = """{"image_size":16,"max_text_length":24,"batch_size":4,"warmup_steps":1,"epochs":1,"checkpoint_every_steps":100}""";

    public const string QFormer = """
        "image_size":16,"max_text_length":16,"batch_size":4,"warmup_steps":1,"num_query_token":4,"qformer_width":32,"qformer_layers":2,"qformer_heads":2,"embed_dim":16,"eval_top_k":4,"vision_layer":-1
        """;

    private const string Llm = """
        "vocab_size":300,"hidden_size":32,"layers":1,"heads":2,"ffn_dim":64,"max_positions":64,"max_text_length":24,"batch_size":8,"epochs":1,"checkpoint_every_steps":100
        """;

    public TinyBlipChain Blip { get; } = new();

    public StageChain Chain => Blip.Chain;

    public ArtifactReference Train { get; private set; } = null!;

    public ArtifactReference Test { get; private set; } = null!;

    public ArtifactReference Stage1 { get; private set; } = null!;

    public ArtifactReference LlmWeights { get; private set; } = null!;

    public ArtifactReference Stage2 { get; private set; } = null!;

    /// <summary>Stage 1's metrics, its retrieval and captions of the test split among them.</summary>
    public IReadOnlyDictionary<string, double> Stage1Metrics { get; private set; } = null!;

    /// <summary>Stage 2's metrics, its captions of the test split among them.</summary>
    public IReadOnlyDictionary<string, double> Stage2Metrics { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Blip.InitializeAsync();
        var (data, _) = await Chain.RunAsync(new SyntheticDatasetRunner(), "vqa-data",
            """{"images":10,"human_images":8,"test_images":4,"image_size":16,"seed":5,"vqa_questions":2}""", StageChain.Inputs());
        (Train, Test) = (data.Outputs["human"], data.Outputs["test"]);
        var (llm, _) = await Chain.RunAsync(new LlmPretrainRunner(), "llm",
            $$"""{ {{Llm}}, "architecture":"opt" }""", StageChain.Inputs(("train", data.Outputs["web"]), ("train", Train)));
        LlmWeights = llm.Outputs["llm"];
        var (stage1, _) = await Chain.RunAsync(new Blip2Stage1Runner(Blip.Data), "stage1",
            $$"""{ {{QFormer}}, "epochs":1,"checkpoint_every_steps":100}""", StageChain.Inputs(("image_encoder", Blip.Pretrained), ("train", Train), ("eval", Test)));
        (Stage1, Stage1Metrics) = (stage1.Outputs["checkpoint"], stage1.Metrics);
        var (stage2, _) = await Chain.RunAsync(new Blip2Stage2Runner(), "stage2", Stage2Options,
            StageChain.Inputs(("qformer", Stage1), ("image_encoder", Blip.Pretrained), ("llm", LlmWeights), ("train", Train), ("eval", Test)));
        (Stage2, Stage2Metrics) = (stage2.Outputs["checkpoint"], stage2.Metrics);
    }

    public Task DisposeAsync() => Blip.DisposeAsync();
}

/// <summary>One <see cref="TinyBlip2Chain"/> for the finetune and evaluate tests.</summary>
[CollectionDefinition(TinyBlip2Chain.Collection)]
public sealed class TinyBlip2Collection : ICollectionFixture<TinyBlip2Chain>;

/// <summary>The BLIP-2 finetunes on tiny shapes: each trains, evaluates, writes its checkpoint and resumes to the same bits.</summary>
[Collection(TinyBlip2Chain.Collection)]
public sealed class Blip2FinetuneRunnerTests(TinyBlip2Chain chain)
{
    private const string Caption = """
        "image_size":16,"max_text_length":24,"batch_size":4,"warmup_steps":1,"num_beams":2,"min_new_tokens":1,"max_new_tokens":5,"epochs":2,"checkpoint_every_steps":2
        """;

    [Fact]
    public async Task The_caption_finetune_trains_the_encoder_and_QFormer_into_the_frozen_LLM_scores_captions_and_resumes_to_the_same_bits()
    {
        var runner = new Blip2CaptionFinetuneRunner();
        var inputs = StageChain.Inputs(
            ("init", chain.Stage2), ("image_encoder", chain.Blip.Pretrained), ("llm", chain.LlmWeights), ("train", chain.Train), ("eval", chain.Test));
        var options = $$"""{ {{Caption}} }""";

        var (result, runId) = await chain.Chain.RunAsync(runner, "caption", options, inputs);

        // 8 human pairs in batches of 4 for 2 epochs: 4 steps, checkpoints at 2 and 4.
        Assert.Equal([2L, 4L], chain.Chain.Reports[runId].OfType<CheckpointSaved>().Select(report => report.Step));
        Assert.True(double.IsFinite(result.Metrics["loss_lm"]));
        Assert.Equal(4, result.Metrics["eval_images"]);
        Assert.InRange(result.Metrics["eval_bleu4"], 0.0, 1.0);
        Assert.True(result.Metrics["eval_cider"] >= 0.0);
        Assert.Equal("checkpoint.blip2.captioner", result.Outputs["checkpoint"].Type);

        // The encoder trained: it is in the output, and moved from the pretrain's; the LLM is not, and its record is carried.
        var output = await chain.Chain.Store.FetchAsync(result.Outputs["checkpoint"]);
        var weights = Safetensors.Load(Path.Combine(output.Directory, CheckpointFiles.Weights));
        Assert.Contains("opt_proj.weight", weights.Keys);
        Assert.Contains("Qformer.bert.encoder.layer.0.crossattention.self.key.weight", weights.Keys);
        Assert.DoesNotContain(weights.Keys, name => name.StartsWith("model.decoder.", StringComparison.Ordinal) || name.Contains("word_embeddings", StringComparison.Ordinal));
        var pretrained = Safetensors.Load(Path.Combine((await chain.Chain.Store.FetchAsync(chain.Blip.Pretrained)).Directory, CheckpointFiles.Weights));
        const string EncoderTensor = "visual_encoder.blocks.0.attn.qkv.weight";
        Assert.NotEqual(pretrained[EncoderTensor].data<float>().ToArray(), weights[EncoderTensor].data<float>().ToArray());
        var sources = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(output.Directory, Blip2Stage2Task.SourcesFile)))!;
        Assert.Equal(chain.LlmWeights.ContentDigest, sources["llm"]!["content_digest"]!.GetValue<string>());
        Assert.Equal(chain.Stage1.ContentDigest, sources["qformer"]!["content_digest"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(output.Directory, Blip2ImageEncoderInput.FileName)));

        var checkpoint = chain.Chain.Reports[runId].OfType<CheckpointSaved>().First(report => report.Step == 2).Checkpoint;
        var (resumed, _) = await chain.Chain.RunAsync(runner, "caption", options, inputs, resumeFrom: checkpoint);
        var resumedOutput = await chain.Chain.Store.FetchAsync(resumed.Outputs["checkpoint"]);
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(output.Directory, CheckpointFiles.Weights)),
            await File.ReadAllBytesAsync(Path.Combine(resumedOutput.Directory, CheckpointFiles.Weights)));
    }

    [Fact]
    public async Task A_caption_finetune_continues_from_a_caption_finetunes_output_with_its_trained_encoder()
    {
        var inputs = StageChain.Inputs(("init", chain.Stage2), ("image_encoder", chain.Blip.Pretrained), ("llm", chain.LlmWeights), ("train", chain.Train));
        var (first, _) = await chain.Chain.RunAsync(new Blip2CaptionFinetuneRunner(), "caption-first", $$"""{ {{Caption}} }""", inputs);

        var (second, runId) = await chain.Chain.RunAsync(new Blip2CaptionFinetuneRunner(), "caption-second",
            """{"image_size":16,"max_text_length":24,"batch_size":4,"warmup_steps":0,"learning_rate":1e-8,"min_learning_rate":0,"num_beams":2,"min_new_tokens":1,"max_new_tokens":5,"epochs":1}""",
            StageChain.Inputs(("init", first.Outputs["checkpoint"]), ("image_encoder", chain.Blip.Pretrained), ("llm", chain.LlmWeights), ("train", chain.Train)));

        // At a learning rate of 1e-8 two steps leave the weights within a hair of the init's: the encoder came from it, not from the pretrain.
        var before = Safetensors.Load(Path.Combine((await chain.Chain.Store.FetchAsync(first.Outputs["checkpoint"])).Directory, CheckpointFiles.Weights));
        var after = Safetensors.Load(Path.Combine((await chain.Chain.Store.FetchAsync(second.Outputs["checkpoint"])).Directory, CheckpointFiles.Weights));
        const string EncoderTensor = "visual_encoder.blocks.0.attn.qkv.weight";
        var pretrained = Safetensors.Load(Path.Combine((await chain.Chain.Store.FetchAsync(chain.Blip.Pretrained)).Directory, CheckpointFiles.Weights));
        Assert.True(before[EncoderTensor].allclose(after[EncoderTensor], rtol: 0, atol: 1e-5));
        Assert.False(pretrained[EncoderTensor].allclose(after[EncoderTensor], rtol: 0, atol: 1e-5));
        Assert.Equal(2, chain.Chain.Reports[runId].OfType<StageRunProgressed>().Count());
    }

    [Fact]
    public async Task The_caption_finetune_refuses_an_llm_other_than_the_one_its_init_was_trained_into()
    {
        var (other, _) = await chain.Chain.RunAsync(new LlmPretrainRunner(), "llm-other",
            """{"vocab_size":300,"hidden_size":32,"layers":1,"heads":2,"ffn_dim":64,"max_positions":64,"max_text_length":24,"batch_size":8,"epochs":1,"checkpoint_every_steps":100,"seed":1}""",
            StageChain.Inputs(("train", chain.Train)));

        var error = await Assert.ThrowsAsync<ArgumentException>(() => chain.Chain.RunAsync(new Blip2CaptionFinetuneRunner(), "caption-other", $$"""{ {{Caption}} }""",
            StageChain.Inputs(("init", chain.Stage2), ("image_encoder", chain.Blip.Pretrained), ("llm", other.Outputs["llm"]), ("train", chain.Train))));

        Assert.Contains("but input init", error.Message, StringComparison.Ordinal);
        Assert.Contains("bind llm to the artifact it records", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_retrieval_finetune_trains_the_encoder_with_the_QFormer_evaluates_retrieval_and_resumes_to_the_same_bits()
    {
        var runner = new Blip2RetrievalFinetuneRunner(chain.Blip.Data);
        var inputs = StageChain.Inputs(("init", chain.Stage1), ("image_encoder", chain.Blip.Pretrained), ("train", chain.Train), ("eval", chain.Test));
        const string Options = """{"image_size":16,"max_text_length":16,"batch_size":4,"warmup_steps":1,"eval_top_k":4,"epochs":2,"checkpoint_every_steps":2}""";

        var (result, runId) = await chain.Chain.RunAsync(runner, "retrieval", Options, inputs);

        // 8 human pairs in batches of 4 for 2 epochs: 4 steps, checkpoints at 2 and 4.
        Assert.Equal([2L, 4L], chain.Chain.Reports[runId].OfType<CheckpointSaved>().Select(report => report.Step));
        Assert.All(["loss_itc", "loss_itm", "loss_itg", "temp"], name => Assert.True(double.IsFinite(result.Metrics[name]), name));
        // 4 test images with 2 captions each: recall@5 text→image and @10 image→text cover every candidate.
        Assert.Equal(1.0, result.Metrics["eval_t2i_r5"]);
        Assert.Equal(1.0, result.Metrics["eval_i2t_r10"]);
        Assert.Equal("checkpoint.blip2_retrieval", result.Outputs["checkpoint"].Type);

        var output = await chain.Chain.Store.FetchAsync(result.Outputs["checkpoint"]);
        Assert.Equal(
            [Blip2ImageEncoderInput.FileName, CheckpointFiles.Weights, CheckpointFiles.State, "vocab.txt"],
            Directory.EnumerateFiles(output.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var weights = Safetensors.Load(Path.Combine(output.Directory, CheckpointFiles.Weights));
        Assert.All(["vision_proj.weight", "text_proj.weight", "itm_head.weight", "temp", "query_tokens", "ln_vision.weight", "Qformer.cls.predictions.bias"], name => Assert.Contains(name, weights.Keys));
        var pretrained = Safetensors.Load(Path.Combine((await chain.Chain.Store.FetchAsync(chain.Blip.Pretrained)).Directory, CheckpointFiles.Weights));
        const string EncoderTensor = "visual_encoder.blocks.0.attn.qkv.weight";
        Assert.NotEqual(pretrained[EncoderTensor].data<float>().ToArray(), weights[EncoderTensor].data<float>().ToArray());

        var checkpoint = chain.Chain.Reports[runId].OfType<CheckpointSaved>().First(report => report.Step == 2).Checkpoint;
        var (resumed, _) = await chain.Chain.RunAsync(runner, "retrieval", Options, inputs, resumeFrom: checkpoint);
        var resumedOutput = await chain.Chain.Store.FetchAsync(resumed.Outputs["checkpoint"]);
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(output.Directory, CheckpointFiles.Weights)),
            await File.ReadAllBytesAsync(Path.Combine(resumedOutput.Directory, CheckpointFiles.Weights)));
    }

    [Fact]
    public async Task The_vqa_finetune_gives_the_QFormer_the_question_answers_through_the_frozen_LLM_and_resumes_to_the_same_bits()
    {
        var runner = new Blip2VqaFinetuneRunner();
        var inputs = StageChain.Inputs(
            ("init", chain.Stage2), ("qformer", chain.Stage1), ("image_encoder", chain.Blip.Pretrained), ("llm", chain.LlmWeights), ("train", chain.Train), ("eval", chain.Test));
        const string Options = """{"image_size":16,"max_text_length":48,"batch_size":4,"warmup_steps":1,"num_beams":2,"max_new_tokens":3,"epochs":1,"checkpoint_every_steps":2}""";

        var (result, runId) = await chain.Chain.RunAsync(runner, "vqa", Options, inputs);

        // 8 human images with 2 questions each, in batches of 4: 4 steps, checkpoints at 2 and 4.
        Assert.Equal([2L, 4L], chain.Chain.Reports[runId].OfType<CheckpointSaved>().Select(report => report.Step));
        Assert.True(double.IsFinite(result.Metrics["loss_lm"]));
        Assert.Equal(8, result.Metrics["eval_questions"]); // 4 test images × 2 questions
        Assert.InRange(result.Metrics["eval_vqa_accuracy"], 0.0, 1.0);
        Assert.InRange(result.Metrics["baseline_eval_vqa_accuracy"], 0.0, 1.0);
        Assert.Equal("checkpoint.blip2.vqa", result.Outputs["checkpoint"].Type);

        // The Q-Former's text side (which stage 2 trims) is back, from stage 1, and trained; the unused LM head is not trained.
        var output = await chain.Chain.Store.FetchAsync(result.Outputs["checkpoint"]);
        var weights = Safetensors.Load(Path.Combine(output.Directory, CheckpointFiles.Weights));
        var stage1 = Safetensors.Load(Path.Combine((await chain.Chain.Store.FetchAsync(chain.Stage1)).Directory, CheckpointFiles.Weights));
        const string Words = "Qformer.bert.embeddings.word_embeddings.weight";
        Assert.Equal(stage1[Words].shape, weights[Words].shape);
        Assert.NotEqual(stage1[Words].data<float>().ToArray(), weights[Words].data<float>().ToArray());
        Assert.Contains("Qformer.bert.encoder.layer.0.intermediate.dense.weight", weights.Keys);
        Assert.Equal(stage1["Qformer.cls.predictions.bias"].data<float>().ToArray(), weights["Qformer.cls.predictions.bias"].data<float>().ToArray());
        Assert.True(File.Exists(Path.Combine(output.Directory, "vocab.txt")));

        var checkpoint = chain.Chain.Reports[runId].OfType<CheckpointSaved>().First(report => report.Step == 2).Checkpoint;
        var (resumed, _) = await chain.Chain.RunAsync(runner, "vqa", Options, inputs, resumeFrom: checkpoint);
        var resumedOutput = await chain.Chain.Store.FetchAsync(resumed.Outputs["checkpoint"]);
        Assert.Equal(
            await File.ReadAllBytesAsync(Path.Combine(output.Directory, CheckpointFiles.Weights)),
            await File.ReadAllBytesAsync(Path.Combine(resumedOutput.Directory, CheckpointFiles.Weights)));
    }

    [Fact]
    public async Task The_vqa_finetune_refuses_a_stage_1_qformer_other_than_the_one_its_init_records()
    {
        var (other, _) = await chain.Chain.RunAsync(new Blip2Stage1Runner(chain.Blip.Data), "stage1-other",
            $$"""{ {{TinyBlip2Chain.QFormer}}, "epochs":1,"checkpoint_every_steps":100,"seed":1}""",
            StageChain.Inputs(("image_encoder", chain.Blip.Pretrained), ("train", chain.Train)));

        var error = await Assert.ThrowsAsync<ArgumentException>(() => chain.Chain.RunAsync(new Blip2VqaFinetuneRunner(), "vqa-other",
            """{"image_size":16,"max_text_length":24,"batch_size":4}""",
            StageChain.Inputs(
                ("init", chain.Stage2), ("qformer", other.Outputs["checkpoint"]), ("image_encoder", chain.Blip.Pretrained), ("llm", chain.LlmWeights), ("train", chain.Train))));

        Assert.Contains("bind qformer to the artifact it records", error.Message, StringComparison.Ordinal);
    }
}
