using System.Text.Json.Nodes;
using VisionLanguage.Models.Import;
using VisionLanguage.Models.Llm;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Llm;

/// <summary>The T5 encoder-decoder (reference §6.2): HF's buckets, RMSNorm and unscaled attention, its names, cache and config.json.</summary>
public sealed class T5Tests : IDisposable
{
    private static readonly T5Config Tiny = new()
    {
        VocabSize = 30, HiddenSize = 16, HeadDim = 4, Heads = 2, FfnDim = 24, Layers = 2, DecoderLayers = 3,
        GatedFeedForward = true, Activation = T5Activation.Gelu, TieWordEmbeddings = false,
    };

    private readonly string _folder = Directory.CreateTempSubdirectory("t5-").FullName;

    [Fact]
    public void Encoder_buckets_split_32_between_the_directions_and_grow_logarithmically_to_128()
    {
        // Both directions: 16 buckets each (keys after the query from 16 on); within one, offsets 0–7 are exact and
        // n ≥ 8 goes to 8 + trunc(ln(n/8) / ln(128/8) · 8), at most 15:
        //   n = 20:  ln 2.5 / ln 16 = 0.91629 / 2.77259 = 0.33048; · 8 = 2.64 → 8 + 2 = 10
        //   n = 127: ln 15.875 / ln 16 = 2.76475 / 2.77259 = 0.99717; · 8 = 7.98 → 8 + 7 = 15
        //   n = 128 and beyond: 8 + 8 = 16, capped at 15.
        long[] offsets = [0, -1, 1, -7, 7, -8, 8, -20, 20, -127, -128, -1000, 1000];
        long[] expected = [0, 1, 17, 7, 23, 8, 24, 10, 26, 15, 15, 15, 31];

        Assert.Equal(expected, Buckets(offsets, bidirectional: true, 32, 128));
    }

    [Fact]
    public void Decoder_buckets_put_every_later_key_in_bucket_0_and_use_all_32_for_the_past()
    {
        // Past only: n = −offset (a later key counts as 0); 0–15 exact, then 16 + trunc(ln(n/16) / ln(128/16) · 16), at most 31:
        //   n = 40:  ln 2.5 / ln 8 = 0.91629 / 2.07944 = 0.44064; · 16 = 7.05 → 16 + 7 = 23
        //   n = 100: ln 6.25 / ln 8 = 1.83258 / 2.07944 = 0.88129; · 16 = 14.10 → 16 + 14 = 30
        //   n = 127: ln 7.9375 / ln 8 = 2.07162 / 2.07944 = 0.99624; · 16 = 15.94 → 16 + 15 = 31
        long[] offsets = [5, 1000, 0, -1, -15, -16, -40, -100, -127, -500];
        long[] expected = [0, 0, 0, 1, 15, 16, 23, 30, 31, 31];

        Assert.Equal(expected, Buckets(offsets, bidirectional: false, 32, 128));
    }

    [Fact]
    public void Buckets_follow_the_configured_count_and_max_distance()
    {
        // 8 buckets over 20 positions, both directions: 4 per direction, offsets 0–1 exact, then
        // 2 + trunc(ln(n/2) / ln(20/2) · 2), at most 3:  n = 2 → 2;  n = 7: ln 3.5 / ln 10 = 1.25276 / 2.30259 = 0.54407,
        // · 2 = 1.09 → 3;  n = 30: ln 15 / ln 10 · 2 = 2.35 → 4, capped at 3. Later keys add 4.
        long[] offsets = [-1, 1, -2, -7, 7, -30];
        long[] expected = [1, 5, 2, 3, 7, 3];

        Assert.Equal(expected, Buckets(offsets, bidirectional: true, 8, 20));
    }

    [Fact]
    public void RMSNorm_divides_by_the_root_mean_square_without_subtracting_the_mean()
    {
        using var norm = new T5LayerNorm(4, eps: 5);
        using (no_grad())
        {
            norm.state_dict()["weight"].copy_(tensor(new float[] { 1, 2, 3, -1 }));
        }

        using var scope = NewDisposeScope();
        // Row 1: mean square 4, + eps 5 = 9, √ = 3 → 2/3 each (a LayerNorm would give 0), times the weight.
        // Row 2: mean square (1 + 9 + 9 + 25) / 4 = 11, + 5 = 16, √ = 4 → (0.25, 0.75, −0.75, 1.25), times the weight.
        var x = tensor(new float[,] { { 2, 2, 2, 2 }, { 1, 3, -3, 5 } });
        var expected = tensor(new float[,] { { 2f / 3, 4f / 3, 2, -2f / 3 }, { 0.25f, 1.5f, -2.25f, -1.25f } });

        Assert.True(norm.call(x).allclose(expected, rtol: 1e-6, atol: 1e-6));
    }

    [Fact]
    public void Attention_adds_the_bucketed_bias_to_unscaled_scores()
    {
        var config = new T5Config { HiddenSize = 8, HeadDim = 3, Heads = 2 };
        using var attention = new T5Attention(config, hasRelativeAttentionBias: true, bidirectional: true, new Generator(7));
        using var scope = NewDisposeScope();
        var w = attention.state_dict();
        var x = randn([1, 3, 8], generator: new Generator(8)).mul(3);
        // Offsets j − i of 3 tokens are −2 … 2: bucket |offset| before the query, 16 + offset after it.
        var table = w["relative_attention_bias.weight"];                                            // (32, heads)
        var buckets = tensor(new long[,] { { 0, 17, 18 }, { 1, 0, 17 }, { 2, 1, 0 } });
        var bias = table.index_select(0, buckets.flatten()).reshape(3, 3, 2).permute(2, 0, 1).unsqueeze(0); // (1, heads, 3, 3)
        Tensor Heads(Tensor t) => t.reshape(1, 3, 2, 3).transpose(1, 2);                            // (1, heads, 3, d_kv)
        var (q, k, v) = (Heads(x.matmul(w["q.weight"].t())), Heads(x.matmul(w["k.weight"].t())), Heads(x.matmul(w["v.weight"].t())));
        Tensor Output(Tensor scores) => (scores + bias).softmax(-1).matmul(v).transpose(1, 2).reshape(1, 3, 6).matmul(w["o.weight"].t());

        var actual = attention.Forward(x, attention.PositionBias(0, 3, 3, x.device));

        Assert.True(actual.allclose(Output(q.matmul(k.transpose(2, 3))), rtol: 1e-5, atol: 1e-6));
        Assert.False(actual.allclose(Output(q.matmul(k.transpose(2, 3)) / Math.Sqrt(3)), rtol: 1e-3, atol: 1e-3));
    }

    [Theory]
    [InlineData(true, T5Activation.Gelu, false)]
    [InlineData(false, T5Activation.Relu, true)]
    public void The_models_names_and_shapes_are_exactly_what_the_import_expects(bool gated, T5Activation activation, bool tied)
    {
        var config = Tiny with { GatedFeedForward = gated, Activation = activation, TieWordEmbeddings = tied };
        using var model = new T5ForConditionalGeneration(config, new Generator(1));

        var state = model.state_dict().Select(pair => (pair.Key, string.Join(",", pair.Value.shape))).ToList();
        var expected = new T5Import().Expected(new ImportedModelDescription { Architecture = "t5", T5 = config })
            .Select(tensor => (tensor.Name, string.Join(",", tensor.Shape))).ToList();

        Assert.Equal(expected, state);
        Assert.Single(state, entry => entry.Item1.EndsWith("relative_attention_bias.weight", StringComparison.Ordinal) && entry.Item1.StartsWith("encoder.block.0.", StringComparison.Ordinal));
        Assert.DoesNotContain(state, entry => entry.Item1.Contains("embed_tokens", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true, T5Activation.Gelu, false)]
    [InlineData(true, T5Activation.GeluNew, true)]
    [InlineData(false, T5Activation.Relu, true)]
    public void A_T5_saved_in_HF_layout_imports_with_the_same_parameters_and_logits(bool gated, T5Activation activation, bool tied)
    {
        var config = Tiny with { GatedFeedForward = gated, Activation = activation, TieWordEmbeddings = tied };
        using var original = new T5ForConditionalGeneration(config, new Generator(2));
        var source = Path.Combine(_folder, "source");
        Directory.CreateDirectory(source);
        // Flan-T5's files also hold the stacks' embeddings, copies of shared; the import drops them.
        var state = BlipWeights.DistinctState(original)
            .Append(("encoder.embed_tokens.weight", original.Shared)).Append(("decoder.embed_tokens.weight", original.Shared));
        Safetensors.Save(Path.Combine(source, "model.safetensors"), state, new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(source, "config.json"), config.ToHfConfig().ToJsonString());
        File.WriteAllBytes(Path.Combine(source, "spiece.model"), [1, 2, 3]);

        var imported = CheckpointImport.Import(source, new T5Import(), Path.Combine(_folder, "out"), path => path);

        Assert.Equal(config, imported.T5);
        Assert.Equal(2, imported.IgnoredTensors);
        Assert.Equal(config, ImportedModelDescription.TryRead(Path.Combine(_folder, "out"))!.T5);
        using var loaded = new T5ForConditionalGeneration(imported.T5!, new Generator(3));
        BlipWeights.Load(loaded, 0, Path.Combine(_folder, "out", CheckpointImport.WeightsFile), WeightsLoading.Strict);
        var originals = original.state_dict();
        Assert.All(loaded.state_dict(), pair => Assert.True(pair.Value.equal(originals[pair.Key]).all().item<bool>(), pair.Key));
        using var scope = NewDisposeScope();
        var ids = tensor(new long[,] { { 4, 7, 9, 1 } });
        var mask = ones(1, 4, ScalarType.Int64);
        var decoderIds = tensor(new long[,] { { 0, 5, 6 } });
        Assert.True(original.Forward(original.Embed(ids), mask, decoderIds).equal(loaded.Forward(loaded.Embed(ids), mask, decoderIds)).all().item<bool>());
    }

    [Fact]
    public void Decoding_with_the_cache_equals_recomputing_the_whole_prefix()
    {
        using var model = new T5ForConditionalGeneration(Tiny, new Generator(4));
        using var scope = NewDisposeScope();
        var mask = tensor(new long[,] { { 1, 1, 1, 1, 1 }, { 1, 1, 1, 0, 0 } });
        var encoded = model.Encode(model.Embed(tensor(new long[,] { { 4, 7, 9, 3, 1 }, { 5, 8, 1, 0, 0 } })), mask);
        var ids = tensor(new long[,] { { 0, 5, 6, 11, 12, 13 }, { 0, 7, 7, 2, 3, 4 } });
        var decoderMask = ones(2, 6, ScalarType.Int64);
        var cache = model.NewCache();
        try
        {
            // A prefix of three, then one token a step; the encoder's keys and values are computed on the first call only.
            var stepped = new List<Tensor> { model.Decode(ids.narrow(1, 0, 3), decoderMask.narrow(1, 0, 3), encoded, mask, cache) };
            for (var t = 3; t < 6; t++)
            {
                stepped.Add(model.Decode(ids.narrow(1, t, 1), decoderMask.narrow(1, 0, t + 1), encoded, mask, cache));
            }

            var full = model.Decode(ids, null, encoded, mask);

            // The untied head's unit-variance rows give logits of a few units: float32 rounding of the shorter products reaches 4e-6.
            Assert.True(cat(stepped, dim: 1).allclose(full, rtol: 1e-5, atol: 1e-5));
            Assert.Equal(6, cache[^1].CachedTokens);
        }
        finally
        {
            cache.ForEach(layer => layer.Dispose());
        }
    }

    [Fact]
    public void Encoder_padding_on_either_side_changes_no_real_output()
    {
        using var model = new T5ForConditionalGeneration(Tiny, new Generator(5));
        using var scope = NewDisposeScope();
        var decoderIds = tensor(new long[,] { { 0, 5, 6, 2 } });
        Tensor Run(long[,] ids, long[,] mask, out Tensor encoded)
        {
            encoded = model.Encode(model.Embed(tensor(ids)), tensor(mask));
            return model.Forward(model.Embed(tensor(ids)), tensor(mask), decoderIds);
        }

        var plain = Run(new long[,] { { 4, 7, 9 } }, new long[,] { { 1, 1, 1 } }, out var plainEncoded);
        var right = Run(new long[,] { { 4, 7, 9, 0, 0 } }, new long[,] { { 1, 1, 1, 0, 0 } }, out var rightEncoded);
        var left = Run(new long[,] { { 0, 0, 4, 7, 9 } }, new long[,] { { 0, 0, 1, 1, 1 } }, out var leftEncoded);

        Assert.True(plainEncoded.allclose(rightEncoded.narrow(1, 0, 3), rtol: 1e-5, atol: 1e-6));
        Assert.True(plainEncoded.allclose(leftEncoded.narrow(1, 2, 3), rtol: 1e-5, atol: 1e-6));
        Assert.True(plain.allclose(right, rtol: 1e-5, atol: 1e-6));
        Assert.True(plain.allclose(left, rtol: 1e-5, atol: 1e-6));
        Assert.False(leftEncoded.isnan().any().item<bool>());
    }

    [Fact]
    public void Shifting_labels_right_starts_from_the_decoder_start_token_and_pads_ignored_labels()
    {
        using var model = new T5ForConditionalGeneration(Tiny with { DecoderStartTokenId = 0, PadTokenId = 0 }, new Generator(6));
        using var scope = NewDisposeScope();

        var shifted = model.ShiftRight(tensor(new long[,] { { 5, 6, 1, -100 }, { 7, 1, -100, -100 } }));

        Assert.Equal(new long[] { 0, 5, 6, 1, 0, 7, 1, 0 }, shifted.data<long>().ToArray());
    }

    [Fact]
    public void Flan_T5s_config_json_reads_as_published_and_LAVISs_exact_GELU_overrides_it()
    {
        // google/flan-t5-base's config.json, less task_specific_params.
        var flan = JsonNode.Parse("""
            {"architectures": ["T5ForConditionalGeneration"], "d_ff": 2048, "d_kv": 64, "d_model": 768, "decoder_start_token_id": 0,
             "dense_act_fn": "gelu_new", "dropout_rate": 0.1, "eos_token_id": 1, "feed_forward_proj": "gated-gelu", "initializer_factor": 1.0,
             "is_encoder_decoder": true, "is_gated_act": true, "layer_norm_epsilon": 1e-06, "model_type": "t5", "n_positions": 512,
             "num_decoder_layers": 12, "num_heads": 12, "num_layers": 12, "output_past": true, "pad_token_id": 0,
             "relative_attention_max_distance": 128, "relative_attention_num_buckets": 32, "tie_word_embeddings": false,
             "torch_dtype": "float32", "transformers_version": "4.23.1", "use_cache": true, "vocab_size": 32128}
            """)!.AsObject();
        var problems = new List<string>();
        var expected = new T5Config
        {
            HiddenSize = 768, HeadDim = 64, FfnDim = 2048, Layers = 12, DecoderLayers = 12, Heads = 12,
            GatedFeedForward = true, Activation = T5Activation.GeluNew, TieWordEmbeddings = false,
        };

        Assert.Equal(expected, T5Config.ReadHfConfig(flan, problems));
        flan["dense_act_fn"] = "gelu";
        Assert.Equal(expected with { Activation = T5Activation.Gelu }, T5Config.ReadHfConfig(flan, problems));
        // Without dense_act_fn, HF derives gelu_new from gated-gelu; the original T5's keys are all defaults.
        flan.Remove("dense_act_fn");
        Assert.Equal(expected, T5Config.ReadHfConfig(flan, problems));
        Assert.Equal(new T5Config(), T5Config.ReadHfConfig(new JsonObject { ["model_type"] = "t5" }, problems));
        Assert.Empty(problems);
    }

    [Theory]
    [InlineData(true, T5Activation.Gelu, false)]
    [InlineData(true, T5Activation.GeluNew, false)]
    [InlineData(false, T5Activation.Relu, true)]
    [InlineData(false, T5Activation.GeluNew, true)]
    public void The_config_json_it_writes_reads_back_as_the_same_shape(bool gated, T5Activation activation, bool tied)
    {
        var config = Tiny with { GatedFeedForward = gated, Activation = activation, TieWordEmbeddings = tied, LayerNormEps = 1e-5, DecoderStartTokenId = 3 };
        var written = config.ToHfConfig();
        var problems = new List<string>();

        var read = T5Config.ReadHfConfig(JsonNode.Parse(written.ToJsonString())!.AsObject(), problems);

        Assert.Equal(config, read);
        Assert.Empty(problems);
        Assert.Equal(("t5", "T5ForConditionalGeneration"), (written["model_type"]!.ToString(), written["architectures"]![0]!.ToString()));
    }

    [Fact]
    public void A_config_json_with_an_unknown_activation_or_a_contradiction_lists_each_problem()
    {
        var problems = new List<string>();
        T5Config.ReadHfConfig(JsonNode.Parse("""{"model_type": "t5", "feed_forward_proj": "gated-silu", "is_gated_act": false, "pad_token_id": -1}""")!.AsObject(), problems);

        Assert.Equal(
            [
                "config.json: feed_forward_proj 'gated-silu' is not supported; this architecture reads relu, gelu or gelu_new, alone or after 'gated-'",
                "config.json: is_gated_act contradicts feed_forward_proj 'gated-silu'",
                "config.json: pad_token_id is -1; it must be a token id (an integer, 0 or more)",
            ],
            problems);
        problems.Clear();
        T5Config.ReadHfConfig(JsonNode.Parse("""{"model_type": "t5", "feed_forward_proj": "gated-gelu", "dense_act_fn": "silu"}""")!.AsObject(), problems);
        Assert.Equal(["config.json: dense_act_fn 'silu' is not supported; this architecture reads relu, gelu or gelu_new"], problems);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static long[] Buckets(long[] offsets, bool bidirectional, int buckets, int maxDistance)
    {
        using var scope = NewDisposeScope();
        return T5Attention.RelativePositionBucket(tensor(offsets), bidirectional, buckets, maxDistance).data<long>().ToArray();
    }
}
