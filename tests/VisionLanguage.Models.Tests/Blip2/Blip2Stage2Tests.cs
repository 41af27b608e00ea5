using VisionLanguage.Models.Blip;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Models.Llm;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Blip2;

/// <summary>Stage 2 on a tiny OPT: the loss's masking, the LLM's freezing, the stage-1 start and soft-prompted generation.</summary>
public sealed class Blip2Stage2Tests : IDisposable
{
    private const int Queries = 3;
    private const long Bos = 2;
    private const long Pad = 29;

    private static readonly QFormerConfig Qformer = new()
    {
        VocabSize = 40, HiddenSize = 32, Layers = 2, Heads = 2, IntermediateSize = 64, EncoderWidth = 24,
        CrossAttentionFrequency = 2, QueryTokens = Queries, MaxPositionEmbeddings = 16,
    };

    private static readonly OptConfig Opt = new()
    {
        VocabSize = 30, HiddenSize = 16, Layers = 2, Heads = 2, FfnDim = 32, MaxPositionEmbeddings = 40, WordEmbedWidth = 16, PadTokenId = Pad,
    };

    private readonly string _folder = Directory.CreateTempSubdirectory("stage2-").FullName;
    private readonly Blip2Stage2Model _model = NewModel();
    private readonly Tensor _features = randn(2, 5, Qformer.EncoderWidth, generator: new Generator(3));

    [Fact]
    public void The_loss_is_HFs_shifted_cross_entropy_over_the_whole_sequence_with_the_queries_ignored()
    {
        _model.SetTraining(false);
        // Row 0: BOS, prompt 5 6 (ignored), caption 7 8 9, end 10; row 1: BOS, prompt, caption 11, end, padding.
        using var ids = tensor(new long[,] { { Bos, 5, 6, 7, 8, 9, 10 }, { Bos, 5, 6, 11, 10, Pad, Pad } });
        using var mask = tensor(new long[,] { { 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 0, 0 } });
        using var labels = tensor(new long[,] { { -100, -100, -100, 7, 8, 9, 10 }, { -100, -100, -100, 11, 10, -100, -100 } });
        using var batch = new Blip2Stage2Batch(_features.clone(), ids.clone(), mask.clone(), labels.clone());

        var loss = _model.Forward(batch).Loss.item<float>();

        // LAVIS: inputs_embeds = [soft prompt ; embed(ids)], targets = [−100 × Q ; labels], and OPT's loss compares
        // logits[:, :−1] with targets[:, 1:] over the whole sequence.
        var llm = (OptSoftPrompted)_model.Llm;
        using var noGrad = no_grad();
        var soft = _model.SoftPrompt(_features);
        var opt = (OptForCausalLM)llm.Module;
        var embeds = cat([soft, opt.Embed(ids)], 1);
        var fullMask = cat([ones(2, Queries, dtype: int64), mask], 1);
        var logits = opt.Forward(embeds, fullMask);
        var targets = cat([full(2, Queries, -100L, dtype: int64), labels], 1);
        var length = logits.shape[1];
        var expected = nn.functional.cross_entropy(
            logits.narrow(1, 0, length - 1).reshape(-1, Opt.VocabSize), targets.narrow(1, 1, length - 1).reshape(-1), ignore_index: -100).item<float>();
        Assert.Equal(expected, loss, 5);

        // Only the 6 unmasked labels count: changing a masked label (the prompt's, a padding's) changes nothing.
        labels[0, 1] = 12;
        using var changed = new Blip2Stage2Batch(_features.clone(), ids.clone(), mask.clone(), labels.clone());
        Assert.NotEqual(loss, _model.Forward(changed).Loss.item<float>());
    }

    [Fact]
    public void The_frozen_LLM_takes_no_gradient_and_no_step_but_passes_the_gradient_to_the_QFormer()
    {
        var llm = _model.Llm.Module;
        var before = BlipWeights.DistinctState(llm).Select(entry => (entry.Name, Tensor: entry.Tensor.clone())).ToList();
        var trainable = _model.TrainableParameters().ToList();
        Assert.All(trainable, entry => Assert.Matches("^(ln_vision|Qformer|query_tokens|opt_proj)", entry.Name));
        Assert.DoesNotContain(trainable, entry => llm.parameters().Any(p => p.Handle == entry.Parameter.Handle));
        Assert.All(llm.parameters(), parameter => Assert.False(parameter.requires_grad));

        using var optimizer = optim.AdamW(trainable.Select(entry => entry.Parameter), lr: 1e-2);
        using var ids = tensor(new long[,] { { Bos, 7, 8, 10 }, { Bos, 9, 10, Pad } });
        using var mask = tensor(new long[,] { { 1, 1, 1, 1 }, { 1, 1, 1, 0 } });
        using var labels = tensor(new long[,] { { -100, 7, 8, 10 }, { -100, 9, 10, -100 } });
        for (var step = 0; step < 3; step++)
        {
            using var batch = new Blip2Stage2Batch(_features.clone(), ids.clone(), mask.clone(), labels.clone());
            optimizer.zero_grad();
            _model.Forward(batch).Loss.backward();
            Assert.All(llm.parameters(), parameter => Assert.Null(parameter.grad));
            foreach (var name in new[] { "query_tokens", "Qformer.bert.encoder.layer.0.crossattention.self.key.weight", "ln_vision.weight", "opt_proj.weight" })
            {
                var grad = trainable.Single(entry => entry.Name == name).Parameter.grad!;
                Assert.True(grad.abs().sum().item<float>() > 0, $"{name} has no gradient");
            }

            optimizer.step();
        }

        foreach (var (name, tensor) in BlipWeights.DistinctState(llm))
        {
            var old = before.Single(entry => entry.Name == name).Tensor;
            Assert.True(old.equal(tensor).all().item<bool>(), $"{name} changed");
        }
    }

    [Fact]
    public void The_stage2_QFormer_starts_from_stage1_weights_without_its_text_parts_and_heads()
    {
        var tokens = new BlipSpecialTokens(PadId: 0, ClsId: 1, SepId: 2, EncId: 3, DecId: 4, MaskId: 5, UnkId: 6);
        using var stage1 = new Blip2Stage1Model(new Blip2Stage1Config { Qformer = Qformer, EmbedDim = 8 }, tokens, seed: 9);
        var path = Path.Combine(_folder, "stage1.safetensors");
        stage1.SaveWeights(path);

        var report = _model.LoadStage1(path);

        Assert.Equal(["opt_proj.bias", "opt_proj.weight"], report.Missing.Order(StringComparer.Ordinal));
        var stage2State = _model.state_dict();
        Assert.DoesNotContain(stage2State.Keys, name => name.Contains("word_embeddings") || name.Contains(".intermediate.") || name.Contains(".cls."));
        foreach (var (name, tensor) in stage2State.Where(entry => !entry.Key.StartsWith("opt_proj", StringComparison.Ordinal)))
        {
            Assert.True(stage1.state_dict()[name].equal(tensor).all().item<bool>(), $"{name} was not taken from stage 1");
        }

        // The Q-Former text side the trim removed: word and position embeddings, both text feed-forwards, the LM head.
        var dropped = stage1.state_dict().Keys.Where(name => name.StartsWith("Qformer.", StringComparison.Ordinal) && !stage2State.ContainsKey(name)).ToList();
        // Word and position embeddings (2); per layer intermediate.dense and output.{dense, LayerNorm} (2 × 6); the head's
        // transform.{dense, LayerNorm}, decoder.{weight, bias} and bias (7).
        Assert.Equal(2 + (2 * 6) + 7, dropped.Count);

        using var other = NewModel(Qformer with { HiddenSize = 16, IntermediateSize = 32, QueriesOnly = true });
        var error = Assert.Throws<InvalidDataException>(() => other.LoadStage1(path));
        Assert.Contains("bind input qformer to a blip2.stage1 output", error.Message);
    }

    [Fact]
    public void Cached_generation_equals_recomputation_and_left_padded_prompts_change_nothing()
    {
        _model.SetTraining(false);
        var settings = new LlmDecodingSettings { Search = CaptionSearch.Greedy, MinNewTokens = 4, MaxNewTokens = 4 };
        using var noGrad = no_grad();
        var soft = _model.SoftPrompt(_features);                                   // (2, Q, 16)
        // Image 0's prompt is BOS 5 6; image 1's is BOS 7, padded on the left.
        using var prompts = tensor(new long[,] { { Bos, 5, 6 }, { Pad, Bos, 7 } });
        using var promptMask = tensor(new long[,] { { 1, 1, 1 }, { 0, 1, 1 } });

        var generated = _model.Llm.Generate(soft, prompts, promptMask, settings, endId: 10);

        // min = max new tokens: exactly 4 new tokens each, whatever the soft prompt (3) and text prompt (3) take.
        Assert.All(generated, row => Assert.Equal(4, row.Length));
        var opt = (OptForCausalLM)_model.Llm.Module;
        for (var image = 0; image < 2; image++)
        {
            // Recomputed: the image alone, unpadded, the whole sequence through the model at every step.
            var real = image == 0 ? new long[] { Bos, 5, 6 } : [Bos, 7];
            var sequence = real.ToList();
            for (var step = 0; step < 4; step++)
            {
                using var ids = tensor(sequence.ToArray()).unsqueeze(0);
                var embeds = cat([soft.narrow(0, image, 1), opt.Embed(ids)], 1);
                var logits = opt.Forward(embeds, ones(1, embeds.shape[1], dtype: int64)).select(1, -1);
                logits[0, 10] = float.NegativeInfinity; // the end token is forbidden before min_new_tokens, as in generation
                sequence.Add(logits.argmax(1).item<long>());
            }

            Assert.Equal(sequence.Skip(real.Length), generated[image]);
        }
    }

    [Fact]
    public void T5_learns_the_target_from_the_shifted_labels_and_generates_as_recomputation_does()
    {
        var t5Config = new T5Config
        {
            VocabSize = 30, HiddenSize = 16, HeadDim = 8, FfnDim = 32, Layers = 1, DecoderLayers = 2, Heads = 2,
            GatedFeedForward = true, Activation = T5Activation.Gelu, TieWordEmbeddings = false,
        };
        var t5 = new T5ForConditionalGeneration(t5Config, new Generator(6));
        using var model = new Blip2Stage2Model(new Blip2Stage2Config(Qformer with { QueriesOnly = true }, "t5", 16), new T5SoftPrompted(t5), seed: 4);
        model.SetTraining(false);
        using var ids = tensor(new long[,] { { 5, 6, 1 }, { 7, 1, 0 } });      // prefixes, </s>, padding
        using var mask = tensor(new long[,] { { 1, 1, 1 }, { 1, 1, 0 } });
        using var labels = tensor(new long[,] { { 8, 9, 1 }, { 11, 1, -100 } }); // targets, </s>, ignored
        using var batch = new Blip2Stage2Batch(_features.clone(), ids.clone(), mask.clone(), labels.clone());

        var loss = model.Forward(batch).Loss.item<float>();

        using var noGrad = no_grad();
        var soft = model.SoftPrompt(_features);
        var encoderMask = cat([ones(2, Queries, dtype: int64), mask], 1);
        var encoded = t5.Encode(cat([soft, t5.Embed(ids)], 1), encoderMask);
        // HF _shift_right: the start token (pad, 0) in front, the last label dropped, −100 made pad.
        using var decoderIds = tensor(new long[,] { { 0, 8, 9 }, { 0, 11, 1 } });
        var logits = t5.Decode(decoderIds, null, encoded, encoderMask);
        var expected = nn.functional.cross_entropy(logits.reshape(-1, 30), labels.reshape(-1), ignore_index: -100).item<float>();
        Assert.Equal(expected, loss, 5);

        var settings = new LlmDecodingSettings { Search = CaptionSearch.Greedy, MinNewTokens = 3, MaxNewTokens = 3 };
        var generated = model.Llm.Generate(soft, ids, mask, settings, endId: 1);
        for (var image = 0; image < 2; image++)
        {
            var sequence = new List<long> { 0 };
            for (var step = 0; step < 3; step++)
            {
                using var decoded = tensor(sequence.ToArray()).unsqueeze(0);
                var next = t5.Decode(decoded, null, encoded.narrow(0, image, 1), encoderMask.narrow(0, image, 1)).select(1, -1);
                next[0, 1] = float.NegativeInfinity; // </s> is forbidden before min_new_tokens
                sequence.Add(next.argmax(1).item<long>());
            }

            Assert.Equal(sequence.Skip(1), generated[image]);
        }
    }

    [Fact]
    public void Beam_search_scores_by_new_tokens_with_the_length_penalty()
    {
        var rules = DecodingRules.ForNewTokens(promptLength: 3, minNewTokens: 1, maxNewTokens: 10, endId: 2, padId: 1, lengthPenalty: -1.0);
        Assert.Equal(4, rules.MinLength);
        Assert.Equal(13, rules.MaxLength);
        // 5 tokens in all, 2 of them new: length^penalty = 2^−1.
        Assert.Equal(0.5, rules.ScoredLength(5));
        // BLIP's rules are unchanged: the whole sequence, to the power 1.
        Assert.Equal(5.0, new DecodingRules(1, 20, 2, 0).ScoredLength(5));
    }

    public void Dispose()
    {
        _model.Dispose();
        _features.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static Blip2Stage2Model NewModel(QFormerConfig? qformer = null)
    {
        var llm = new OptSoftPrompted(new OptForCausalLM(Opt, new Generator(5)));
        return new Blip2Stage2Model(new Blip2Stage2Config(qformer ?? Qformer with { QueriesOnly = true }, "opt", Opt.WordEmbedWidth), llm, seed: 4);
    }
}
