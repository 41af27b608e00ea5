using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Blip2;

/// <summary>The Q-Former's structure, its three attention patterns and the stage-1 objectives, on a tiny model.</summary>
public sealed class QFormerTests : IDisposable
{
    private const int Queries = 4;
    private const int TextLength = 6;
    private static readonly BlipSpecialTokens Tokens = new(PadId: 0, ClsId: 1, SepId: 2, EncId: 3, DecId: 4, MaskId: 5, UnkId: 6);

    private readonly Blip2Stage1Model _model = new(Tiny, Tokens, seed: 7);
    private readonly Tensor _image;
    private readonly Tensor _text;
    private readonly Tensor _keep;

    public QFormerTests()
    {
        _model.SetTraining(false); // no dropout: every comparison below is of deterministic passes
        using var generator = new Generator(11);
        _image = randn(2, 5, Tiny.Qformer.EncoderWidth, generator: generator);
        _text = randint(7, 40, [2, TextLength], generator: generator);
        _text.select(1, 0).fill_(Tokens.ClsId);
        _keep = ones(2, TextLength, dtype: int64);
        _keep[1].narrow(0, 4, 2).fill_(0); // the second caption is padded after 4 tokens
    }

    private static Blip2Stage1Config Tiny => new()
    {
        Qformer = new QFormerConfig
        {
            VocabSize = 40, HiddenSize = 32, Layers = 2, Heads = 2, IntermediateSize = 64, EncoderWidth = 24,
            CrossAttentionFrequency = 2, QueryTokens = Queries, MaxPositionEmbeddings = 16,
        },
        EmbedDim = 16,
    };

    [Fact]
    public void Base_has_the_reference_names_and_shapes_and_186_705_470_parameters_with_a_1408_wide_encoder()
    {
        using var model = new Blip2Stage1Model(new Blip2Stage1Config(), Tokens, seed: 0);
        var state = model.state_dict().ToDictionary(entry => entry.Key, entry => entry.Value.shape);

        Assert.Equal(186_705_470, model.ParameterCount());
        Assert.Equal([1408], state["ln_vision.weight"]);
        Assert.Equal([1, 32, 768], state["query_tokens"]);
        Assert.Equal([30523, 768], state["Qformer.bert.embeddings.word_embeddings.weight"]);
        Assert.Equal([512, 768], state["Qformer.bert.embeddings.position_embeddings.weight"]);
        Assert.Equal([1, 512], state["Qformer.bert.embeddings.position_ids"]);
        Assert.Equal([768, 1408], state["Qformer.bert.encoder.layer.0.crossattention.self.key.weight"]);
        Assert.Equal([768, 768], state["Qformer.bert.encoder.layer.10.crossattention.self.query.weight"]);
        Assert.Equal([3072, 768], state["Qformer.bert.encoder.layer.11.intermediate_query.dense.weight"]);
        Assert.Equal([768], state["Qformer.bert.encoder.layer.11.output_query.LayerNorm.bias"]);
        Assert.Equal([30523, 768], state["Qformer.cls.predictions.decoder.weight"]);
        Assert.Equal([30523], state["Qformer.cls.predictions.bias"]);
        Assert.Equal([256, 768], state["vision_proj.weight"]);
        Assert.Equal([256, 768], state["text_proj.weight"]);
        Assert.Equal([2, 768], state["itm_head.weight"]);
        Assert.Empty(state["temp"]);
        // Cross-attention in layers 0, 2, …, 10 only; no token-type embeddings.
        Assert.Equal([0, 2, 4, 6, 8, 10], Enumerable.Range(0, 12).Where(n => state.ContainsKey($"Qformer.bert.encoder.layer.{n}.crossattention.self.key.weight")));
        Assert.DoesNotContain(state.Keys, name => name.Contains("token_type", StringComparison.Ordinal));
        Assert.Equal(0.07f, model.Temperature.item<float>());
    }

    [Fact]
    public void Under_the_itc_mask_queries_and_text_do_not_see_each_other_and_one_pass_equals_lavis_two()
    {
        var joint = Joint(_text, _image, QFormerMasks.Unimodal(Queries, _keep));
        using var queriesAlone = QueryPass(_image);
        using var textAlone = TextPass(_text);

        AssertClose(queriesAlone, joint.narrow(1, 0, Queries));
        AssertClose(textAlone, joint.narrow(1, Queries, TextLength));

        // A changed word leaves the queries alone; a changed image leaves the text alone.
        var otherText = Joint(ChangedWord(3), _image, QFormerMasks.Unimodal(Queries, _keep));
        var otherImage = Joint(_text, _image.neg(), QFormerMasks.Unimodal(Queries, _keep));
        AssertClose(joint.narrow(1, 0, Queries), otherText.narrow(1, 0, Queries));
        AssertClose(joint.narrow(1, Queries, TextLength), otherImage.narrow(1, Queries, TextLength));
        Assert.False(joint.narrow(1, 0, Queries).allclose(otherImage.narrow(1, 0, Queries)));
    }

    [Fact]
    public void Under_the_itg_mask_text_sees_the_queries_and_earlier_words_and_the_queries_see_no_text()
    {
        var mask = QFormerMasks.MultimodalCausal(Queries, _keep, queryRows: true);
        var joint = Joint(_text, _image, mask);
        var laterWord = Joint(ChangedWord(3), _image, mask);
        var otherImage = Joint(_text, _image.neg(), mask);

        // Changing word 3 leaves text outputs 0 … 2 and every query output as they were, and changes word 3's.
        AssertClose(joint.narrow(1, 0, Queries + 3), laterWord.narrow(1, 0, Queries + 3));
        Assert.False(joint.narrow(1, Queries + 3, 1).allclose(laterWord.narrow(1, Queries + 3, 1)));
        // The image reaches the text only through the queries: under ITG it changes the text; under ITC (above) it does not.
        Assert.False(joint.narrow(1, Queries, TextLength).allclose(otherImage.narrow(1, Queries, TextLength)));

        // Training runs the text after the queries' cached keys and values: the same text outputs as the one pass.
        var (_, cache) = _model.QFormer.Bert.Forward(null, QueryTokens(), null, _image);
        var (cached, _) = _model.QFormer.Bert.Forward(_text, null, QFormerMasks.MultimodalCausal(Queries, _keep, queryRows: false), null, cache);
        AssertClose(joint.narrow(1, Queries, TextLength), cached);
    }

    [Fact]
    public void Under_the_itm_mask_queries_and_text_see_each_other()
    {
        var keep = cat([ones(2, Queries, dtype: int64), _keep], 1);
        var joint = Joint(_text, _image, QFormerMasks.Padding(keep));
        var otherWord = Joint(ChangedWord(3), _image, QFormerMasks.Padding(keep));

        Assert.False(joint.narrow(1, 0, Queries).allclose(otherWord.narrow(1, 0, Queries)));
        Assert.False(joint.narrow(1, Queries, 3).allclose(otherWord.narrow(1, Queries, 3)));
    }

    [Fact]
    public void Itc_equals_a_hand_computation_of_max_over_queries_similarities()
    {
        var image = nn.functional.normalize(tensor(new float[] { 1, 0, 0, 1, 1, 1, -1, 0 }).reshape(2, 2, 2), dim: -1); // (B=2, Q=2, E=2)
        var text = nn.functional.normalize(tensor(new float[] { 1, 0, 0.6f, 0.8f }).reshape(2, 2), dim: -1);              // (B=2, E=2)
        using var temperature = tensor(0.5f);

        var (loss, simI2T, simT2I) = Blip2Stage1Model.Contrastive(image, text, image, text, temperature, rank: 0, labelSmoothing: 0.1);

        var i = image.data<float>().ToArray();
        var t = text.data<float>().ToArray();
        double Dot(int b, int q, int j) => (i[(b * 2 + q) * 2] * t[j * 2]) + (i[(b * 2 + q) * 2 + 1] * t[j * 2 + 1]);
        var i2t = new double[2, 2];
        var t2i = new double[2, 2];
        for (var b = 0; b < 2; b++)
        {
            for (var j = 0; j < 2; j++)
            {
                i2t[b, j] = Math.Max(Dot(b, 0, j), Dot(b, 1, j)) / 0.5;
                t2i[b, j] = Math.Max(Dot(j, 0, b), Dot(j, 1, b)) / 0.5;
            }
        }

        static double SmoothedCe(double[,] logits, int row)
        {
            var max = Math.Max(logits[row, 0], logits[row, 1]);
            var logZ = max + Math.Log(Math.Exp(logits[row, 0] - max) + Math.Exp(logits[row, 1] - max));
            var (target, other) = (logits[row, row] - logZ, logits[row, 1 - row] - logZ);
            return -((1 - 0.1 + 0.05) * target + 0.05 * other);
        }

        var expected = ((SmoothedCe(i2t, 0) + SmoothedCe(i2t, 1)) / 2 + (SmoothedCe(t2i, 0) + SmoothedCe(t2i, 1)) / 2) / 2;
        Assert.Equal(i2t[0, 1], simI2T[0, 1].item<float>(), 5);
        Assert.Equal(t2i[1, 0], simT2I[1, 0].item<float>(), 5);
        Assert.Equal(expected, loss.item<float>(), 5);
    }

    [Fact]
    public void An_itm_negative_is_never_a_pair_of_the_same_image()
    {
        using var generator = new Generator(3);
        // The positives score far above every other column; pairs 0 and 1 show the same image.
        using var similarities = tensor(new float[,] { { 9, 8, 1, 1 }, { 8, 9, 1, 1 }, { 1, 1, 9, 1 }, { 1, 1, 1, 9 } });
        using var ids = tensor(new long[] { 5, 5, 6, 7 });
        using var sameImage = ids.unsqueeze(1).eq(ids.unsqueeze(0));

        for (var draw = 0; draw < 200; draw++)
        {
            using var negatives = Blip2Stage1Model.HardNegatives(similarities, sameImage, generator);
            var picked = negatives.data<long>().ToArray();
            Assert.All(Enumerable.Range(0, 4), row => Assert.NotEqual(ids[row].item<long>(), ids[picked[row]].item<long>()));
        }
    }

    [Fact]
    public void A_training_step_gives_three_finite_losses_and_generation_teaches_the_queries_through_their_cached_keys()
    {
        _model.SetTraining(true);
        using var batch = new Blip2Stage1Batch(_image.clone(), _text.clone(), _keep.clone(), [1, 2]);

        var output = (Blip2Stage1Output)_model.Forward(batch, new TrainingStep(0, 0, 1));
        Assert.All(output.NamedLosses, loss => Assert.True(double.IsFinite(loss.Loss.item<float>()) && loss.Loss.item<float>() > 0, loss.Objective));
        Assert.Equal(["itc", "itm", "itg"], output.NamedLosses.Select(loss => loss.Objective));

        output.LossItg.backward();
        var queryGradient = _model.named_parameters().Single(entry => entry.name == "query_tokens").parameter.grad;
        Assert.NotNull(queryGradient);
        Assert.True(queryGradient!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Cached_decoding_gives_the_logits_of_one_itg_pass_over_the_whole_text()
    {
        var (_, cache) = _model.EncodeQueries(_model.VisionNorm(_image));
        var ids = _text.narrow(1, 0, 3).clone();
        ids.select(1, 0).fill_(Tokens.DecId);

        using var session = new QFormerDecoderSession(_model.QFormer, cache, rowsPerImage: 1);
        var afterTwo = session.Next(ids.narrow(1, 0, 2));  // the prompt: [DEC] and a word
        var afterThree = session.Next(ids.narrow(1, 2, 1)); // then one more word

        var (hidden, _) = _model.QFormer.Bert.Forward(ids, null, QFormerMasks.MultimodalCausal(Queries, ones(2, 3, dtype: int64), queryRows: false), null, cache);
        var logits = _model.QFormer.Logits(hidden);
        AssertClose(logits.select(1, 1), afterTwo);
        AssertClose(logits.select(1, 2), afterThree);
    }

    public void Dispose()
    {
        _model.Dispose();
        _image.Dispose();
        _text.Dispose();
        _keep.Dispose();
    }

    private static void AssertClose(Tensor expected, Tensor actual) =>
        Assert.True(expected.allclose(actual, rtol: 1e-5, atol: 1e-5), $"largest difference {expected.sub(actual).abs().max().item<float>()}");

    private Tensor QueryTokens() => _model.named_parameters().Single(entry => entry.name == "query_tokens").parameter.expand(2, -1, -1);

    private Tensor Joint(Tensor text, Tensor image, Tensor mask) => _model.QFormer.Bert.Forward(text, QueryTokens(), mask, image).Hidden;

    private Tensor QueryPass(Tensor image) => _model.QFormer.Bert.Forward(null, QueryTokens(), null, image).Hidden;

    private Tensor TextPass(Tensor text) => _model.QFormer.Bert.Forward(text, null, QFormerMasks.Padding(_keep), null).Hidden;

    private Tensor ChangedWord(int position)
    {
        var text = _text.clone();
        text.select(1, position).add_(1);
        return text;
    }
}
