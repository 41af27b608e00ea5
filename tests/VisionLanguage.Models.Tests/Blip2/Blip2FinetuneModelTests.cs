using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Llm;
using VisionLanguage.Models.Vit;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Blip2;

/// <summary>The BLIP-2 finetunes' models: ITC with same-image positives, and the retrieval model's names and trained parts.</summary>
public sealed class Blip2FinetuneModelTests
{
    private static readonly BlipSpecialTokens Tokens = new(PadId: 0, ClsId: 1, SepId: 2, EncId: 3, DecId: 4, MaskId: 5, UnkId: 6);

    [Fact]
    public void Itc_by_image_with_one_caption_per_image_is_stage_1s_itc_with_label_smoothing()
    {
        using var generator = new Generator(3);
        var image = nn.functional.normalize(randn([3, 2, 4], generator: generator), dim: -1); // (B=3, Q=2, E=4)
        var text = nn.functional.normalize(randn([3, 4], generator: generator), dim: -1);     // (B=3, E=4)
        using var temperature = tensor(0.07f);

        var (plain, _, _) = Blip2Stage1Model.Contrastive(image, text, image, text, temperature, rank: 0, labelSmoothing: 0.1);
        var (byImage, _, _) = Blip2Stage1Model.ContrastiveByImage(image, text, image, text, temperature, eye(3, dtype: @bool), labelSmoothing: 0.1);

        Assert.Equal(plain.item<float>(), byImage.item<float>(), 5);
    }

    [Fact]
    public void Itc_by_image_targets_every_caption_of_the_same_image_as_lavis_does()
    {
        // Pairs 0 and 1 show the same image, pair 2 another. LAVIS: targets = pos / pos.sum(1), then 0.9·targets + 0.1/N.
        using var generator = new Generator(5);
        var image = nn.functional.normalize(randn([3, 2, 4], generator: generator), dim: -1);
        var text = nn.functional.normalize(randn([3, 4], generator: generator), dim: -1);
        using var temperature = tensor(0.5f);
        var sameImage = tensor(new[] { true, true, false, true, true, false, false, false, true }).reshape(3, 3);

        var (loss, simI2T, simT2I) = Blip2Stage1Model.ContrastiveByImage(image, text, image, text, temperature, sameImage, labelSmoothing: 0.1);

        double[,] targets = { { 0.45 + 0.1 / 3, 0.45 + 0.1 / 3, 0.1 / 3 }, { 0.45 + 0.1 / 3, 0.45 + 0.1 / 3, 0.1 / 3 }, { 0.1 / 3, 0.1 / 3, 0.9 + 0.1 / 3 } };
        double Direction(Tensor similarities)
        {
            var s = similarities.detach().to(float64).data<double>().ToArray();
            var total = 0.0;
            for (var row = 0; row < 3; row++)
            {
                var logZ = Math.Log(Enumerable.Range(0, 3).Sum(column => Math.Exp(s[row * 3 + column])));
                total -= Enumerable.Range(0, 3).Sum(column => targets[row, column] * (s[row * 3 + column] - logZ));
            }

            return total / 3;
        }

        Assert.Equal((Direction(simI2T) + Direction(simT2I)) / 2, loss.item<float>(), 5);
    }

    [Fact]
    public void The_retrieval_model_has_lavis_names_the_encoder_trains_and_blocks_past_those_read_do_not()
    {
        var stage1 = new Blip2Stage1Config
        {
            Qformer = new QFormerConfig { VocabSize = 20, HiddenSize = 16, Layers = 1, Heads = 2, IntermediateSize = 32, QueryTokens = 2, EncoderWidth = 8, MaxPositionEmbeddings = 16 },
            EmbedDim = 8,
        };
        var vision = new VitConfig { ImageSize = 16, PatchSize = 8, Width = 8, Depth = 2, Heads = 2 };
        using var reference = new Blip2Stage1Model(stage1, Tokens, seed: 1);
        using var model = new Blip2RetrievalModel(new Blip2RetrievalConfig(stage1, ImageEncoderFamily.Vit, vision, BlocksUsed: 1), Tokens, seed: 1);

        var names = model.state_dict().Keys.ToList();
        Assert.Equal(reference.state_dict().Keys.Order(StringComparer.Ordinal), names.Where(name => !name.StartsWith("visual_encoder.", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.Contains("visual_encoder.blocks.1.attn.qkv.weight", names);
        var trained = model.TrainableParameters().Select(entry => entry.Name).ToList();
        Assert.Contains("visual_encoder.blocks.0.attn.qkv.weight", trained);
        Assert.Contains("visual_encoder.patch_embed.proj.weight", trained);
        Assert.Contains("temp", trained);
        Assert.DoesNotContain(trained, name => name.StartsWith("visual_encoder.blocks.1.", StringComparison.Ordinal));
    }

    private static readonly QFormerConfig Qformer = new()
    {
        VocabSize = 20, HiddenSize = 16, Layers = 2, Heads = 2, IntermediateSize = 32, EncoderWidth = 8, CrossAttentionFrequency = 1, QueryTokens = 3, MaxPositionEmbeddings = 16,
    };

    private static readonly OptConfig Opt = new()
    {
        VocabSize = 30, HiddenSize = 16, Layers = 1, Heads = 2, FfnDim = 32, MaxPositionEmbeddings = 40, WordEmbedWidth = 16, PadTokenId = 1,
    };

    private static Blip2LlmFinetuneModel LlmModel(bool readsQuestions) => new(
        new Blip2LlmFinetuneConfig(Qformer with { QueriesOnly = !readsQuestions }, "opt", Opt.WordEmbedWidth, ImageEncoderFamily.Vit,
            new VitConfig { ImageSize = 16, PatchSize = 8, Width = 8, Depth = 2, Heads = 2 }, BlocksUsed: 2),
        new OptSoftPrompted(new OptForCausalLM(Opt, new Generator(5))), seed: 4);

    [Fact]
    public void The_vqa_models_queries_read_the_question_and_the_caption_models_take_none()
    {
        using var model = LlmModel(readsQuestions: true);
        using var captioner = LlmModel(readsQuestions: false);
        model.SetTraining(false);
        var images = randn([2, 3, 16, 16], generator: new Generator(2));
        var mask = ones(2, 4, dtype: int64);

        var first = model.SoftPrompt(images, tensor(new long[,] { { 2, 7, 8, 3 }, { 2, 9, 10, 3 } }), mask);
        var second = model.SoftPrompt(images, tensor(new long[,] { { 2, 7, 11, 3 }, { 2, 9, 10, 3 } }), mask);

        Assert.Equal([2L, Qformer.QueryTokens, Opt.WordEmbedWidth], first.shape);
        Assert.False(first[0].allclose(second[0]));
        Assert.True(first[1].allclose(second[1]));
        Assert.Throws<InvalidOperationException>(() => captioner.SoftPrompt(images, tensor(new long[,] { { 2, 7, 8, 3 }, { 2, 9, 10, 3 } }), mask));
    }

    [Fact]
    public void The_encoder_the_QFormer_and_the_projection_train_and_the_LLM_and_the_unused_LM_head_do_not()
    {
        using var model = LlmModel(readsQuestions: true);
        using var batch = new Blip2LlmFinetuneBatch(
            randn([2, 3, 16, 16], generator: new Generator(2)), tensor(new long[,] { { 2, 7, 8, 3 }, { 2, 9, 3, 0 } }), tensor(new long[,] { { 1, 1, 1, 1 }, { 1, 1, 1, 0 } }),
            tensor(new long[,] { { 2, 5, 6, 7 }, { 2, 5, 8, 1 } }), tensor(new long[,] { { 1, 1, 1, 1 }, { 1, 1, 1, 0 } }), tensor(new long[,] { { -100, -100, 6, 7 }, { -100, -100, 8, -100 } }));

        model.Forward(batch).Loss.backward();

        var trained = model.TrainableParameters().ToDictionary(entry => entry.Name, entry => entry.Parameter);
        Assert.All(trained, entry => Assert.False(entry.Value.grad is null, $"{entry.Key} has no gradient"));
        Assert.Contains("visual_encoder.blocks.1.mlp.fc2.weight", trained.Keys);
        Assert.Contains("Qformer.bert.embeddings.word_embeddings.weight", trained.Keys);
        Assert.Contains("opt_proj.weight", trained.Keys);
        Assert.DoesNotContain(trained.Keys, name => name.StartsWith("Qformer.cls.predictions.transform", StringComparison.Ordinal));
        Assert.All(model.Llm.Module.parameters(), parameter => Assert.False(parameter.requires_grad));
    }
}
