using VisionLanguage.Models.Import;
using VisionLanguage.Models.Llm;
using VisionLanguage.Models.Weights;
using VisionLanguage.Testing;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Import;

/// <summary>T5 checkpoints in HF's own layout (<see cref="HfCheckpoints.WriteT5"/>), imported and run against T5 written out from its definition.</summary>
public sealed class T5CheckpointTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("t5-import-").FullName;

    [Theory]
    [InlineData(true, "gelu_new", false, ScalarType.Float32)]
    [InlineData(true, "gelu", false, ScalarType.BFloat16)]
    [InlineData(false, "relu", true, ScalarType.Float32)]
    public void A_T5_in_HFs_layout_imports_without_its_copies_and_computes_what_HF_T5_computes(bool gated, string activation, bool tied, ScalarType dtype)
    {
        HfCheckpoints.WriteT5(Source, gated: gated, denseActFn: activation, tied: tied, crossAttentionBias: true, dtype: dtype);

        var imported = CheckpointImport.Import(Source, new T5Import(), Output, path => path);

        Assert.Equal((gated, tied, 16, 8, 24), (imported.T5!.GatedFeedForward, imported.T5.TieWordEmbeddings, imported.T5.HiddenSize, imported.T5.InnerDim, imported.T5.FfnDim));
        // Both embedding copies and the decoder's cross-attention table.
        Assert.Equal(3, imported.IgnoredTensors);
        var entries = Safetensors.ReadEntries(Path.Combine(Output, CheckpointImport.WeightsFile));
        Assert.All(entries, entry => Assert.Equal(dtype, entry.Dtype));
        Assert.DoesNotContain(entries, entry => entry.Name.Contains("embed_tokens", StringComparison.Ordinal) || entry.Name.Contains("EncDecAttention.relative", StringComparison.Ordinal));
        Assert.Equal(["config.json", "model.safetensors", "spiece.model", "tokenizer_config.json", "special_tokens_map.json"], imported.Source.Select(file => file.Name));

        using var model = new T5ForConditionalGeneration(imported.T5, new Generator(1));
        BlipWeights.Load(model, 0, Path.Combine(Output, CheckpointImport.WeightsFile), WeightsLoading.Strict);
        using var scope = NewDisposeScope();
        var w = Safetensors.Load(Path.Combine(Source, "model.safetensors")).ToDictionary(pair => pair.Key, pair => pair.Value.to_type(ScalarType.Float32));
        // 14 encoder tokens reach offsets of 13, past the 8 exact buckets; the second row is padded.
        var ids = randint(2, 40, new long[] { 2, 14 }, dtype: ScalarType.Int64, generator: new Generator(2));
        var mask = ones(2, 14, ScalarType.Int64);
        mask[1, TensorIndex.Slice(10)] = tensor(0L);
        // 12 decoder tokens reach offsets of 11: buckets 8–11 are exact for the decoder but logarithmic both ways.
        var decoderIds = tensor(new long[,] { { 0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 1 }, { 0, 9, 3, 30, 31, 32, 33, 34, 35, 36, 1, 0 } });

        var logits = model.Forward(model.Embed(ids), mask, decoderIds);

        Assert.True(logits.allclose(T5ByHand(w, ids, mask, decoderIds, gated, activation, tied), rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void A_tied_T5_that_stores_its_head_anyway_imports_without_it_and_counts_it_unused()
    {
        HfCheckpoints.WriteT5(Source, gated: false, denseActFn: "relu", tied: true);
        var weights = Path.Combine(Source, "model.safetensors");
        var tensors = Safetensors.Load(weights);
        tensors["lm_head.weight"] = tensors["shared.weight"].clone();
        Safetensors.Save(weights, tensors.Select(pair => (pair.Key, pair.Value)));

        var imported = CheckpointImport.Import(Source, new T5Import(), Output, path => path);

        // The two embedding copies and the head, which is shared.weight when tied.
        Assert.Equal(3, imported.IgnoredTensors);
        var names = Safetensors.ReadEntries(Path.Combine(Output, CheckpointImport.WeightsFile)).Select(entry => entry.Name).ToList();
        Assert.Equal("shared.weight", names[0]);
        Assert.DoesNotContain("lm_head.weight", names);
    }

    [Fact]
    public void A_T5_checkpoint_of_another_shape_lists_every_mismatch()
    {
        HfCheckpoints.WriteT5(Source, layers: 1, decoderLayers: 1);
        var weights = Path.Combine(Source, "model.safetensors");
        var tensors = Safetensors.Load(weights);
        tensors.Remove("decoder.block.0.layer.2.DenseReluDense.wi_1.weight");
        Safetensors.Save(weights, tensors.Select(pair => (pair.Key, pair.Value)));
        var config = Path.Combine(Source, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"d_ff\":24", "\"d_ff\":32", StringComparison.Ordinal)
            .Replace("\"relative_attention_num_buckets\":32", "\"relative_attention_num_buckets\":16", StringComparison.Ordinal));
        File.Delete(Path.Combine(Source, "spiece.model"));

        var error = Assert.Throws<ModelImportException>(() => CheckpointImport.Import(Source, new T5Import(), Output, path => path));

        Assert.Equal(
            [
                "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight has shape [32, 2], but config.json implies [16, 2]",
                "encoder.block.0.layer.1.DenseReluDense.wi_0.weight has shape [24, 16], but config.json implies [32, 16]",
                "encoder.block.0.layer.1.DenseReluDense.wi_1.weight has shape [24, 16], but config.json implies [32, 16]",
                "encoder.block.0.layer.1.DenseReluDense.wo.weight has shape [16, 24], but config.json implies [16, 32]",
                "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight has shape [32, 2], but config.json implies [16, 2]",
                "decoder.block.0.layer.2.DenseReluDense.wi_0.weight has shape [24, 16], but config.json implies [32, 16]",
                "decoder.block.0.layer.2.DenseReluDense.wi_1.weight is missing (expected shape [32, 16])",
                "decoder.block.0.layer.2.DenseReluDense.wo.weight has shape [16, 24], but config.json implies [16, 32]",
                "spiece.model is missing; t5 checkpoints need it (save_pretrained of their tokenizer writes it)",
            ],
            error.Problems);
        Assert.False(Directory.Exists(Output));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Source => Path.Combine(_folder, "source");

    private string Output => Path.Combine(_folder, "output");

    /// <summary>
    /// HF's <c>T5ForConditionalGeneration</c> written out from its definition: pre-RMSNorm blocks, q·kᵀ unscaled plus
    /// block 0's bucketed bias in every block (with the mask: −∞ here), cross-attention with the encoder's padding mask
    /// only, the feed-forward of <paramref name="activation"/>, and a head of its own or, tied, shared after · d_model^-0.5.
    /// </summary>
    private static Tensor T5ByHand(Dictionary<string, Tensor> w, Tensor ids, Tensor mask, Tensor decoderIds, bool gated, string activation, bool tied)
    {
        var shared = w["shared.weight"];
        Tensor Embed(Tensor t) => shared.index_select(0, t.flatten()).reshape(t.shape[0], t.shape[1], -1);
        var padding = zeros(mask.shape).masked_fill(mask.eq(0), double.NegativeInfinity).reshape(mask.shape[0], 1, 1, -1); // (B, 1, 1, S)
        var (s, t) = (ids.shape[1], decoderIds.shape[1]);

        var x = Embed(ids);
        var encoderBias = Bias(w["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], s, s, bidirectional: true) + padding;
        for (var i = 0; w.ContainsKey($"encoder.block.{i}.layer.0.layer_norm.weight"); i++)
        {
            var p = $"encoder.block.{i}.layer";
            var h = Rms(x, w[$"{p}.0.layer_norm.weight"]);
            x = x + Attention(h, h, w, $"{p}.0.SelfAttention", encoderBias);
            x = x + FeedForward(Rms(x, w[$"{p}.1.layer_norm.weight"]), w, $"{p}.1.DenseReluDense", gated, activation);
        }

        var encoded = Rms(x, w["encoder.final_layer_norm.weight"]);

        var y = Embed(decoderIds);
        var causal = zeros(t, t).masked_fill(ones(t, t).triu(1).to_type(ScalarType.Bool), double.NegativeInfinity);
        var decoderBias = Bias(w["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], t, t, bidirectional: false) + causal;
        for (var i = 0; w.ContainsKey($"decoder.block.{i}.layer.0.layer_norm.weight"); i++)
        {
            var p = $"decoder.block.{i}.layer";
            var h = Rms(y, w[$"{p}.0.layer_norm.weight"]);
            y = y + Attention(h, h, w, $"{p}.0.SelfAttention", decoderBias);
            y = y + Attention(Rms(y, w[$"{p}.1.layer_norm.weight"]), encoded, w, $"{p}.1.EncDecAttention", padding);
            y = y + FeedForward(Rms(y, w[$"{p}.2.layer_norm.weight"]), w, $"{p}.2.DenseReluDense", gated, activation);
        }

        var decoded = Rms(y, w["decoder.final_layer_norm.weight"]);
        return tied ? (decoded * Math.Pow(shared.shape[1], -0.5)).matmul(shared.t()) : decoded.matmul(w["lm_head.weight"].t());
    }

    private static Tensor Rms(Tensor x, Tensor weight) => x * (x.pow(2).mean([-1], keepdim: true) + 1e-6).rsqrt() * weight;

    private static Tensor Attention(Tensor queries, Tensor memory, Dictionary<string, Tensor> w, string prefix, Tensor bias)
    {
        const int heads = 2;
        Tensor Split(Tensor z) => z.reshape(z.shape[0], z.shape[1], heads, -1).transpose(1, 2);
        var q = Split(queries.matmul(w[$"{prefix}.q.weight"].t()));
        var k = Split(memory.matmul(w[$"{prefix}.k.weight"].t()));
        var v = Split(memory.matmul(w[$"{prefix}.v.weight"].t()));
        var attended = (q.matmul(k.transpose(-2, -1)) + bias).softmax(-1).matmul(v);
        return attended.transpose(1, 2).reshape(queries.shape[0], queries.shape[1], -1).matmul(w[$"{prefix}.o.weight"].t());
    }

    private static Tensor FeedForward(Tensor x, Dictionary<string, Tensor> w, string prefix, bool gated, string activation)
    {
        Tensor Act(Tensor z) => activation switch
        {
            "relu" => z.clamp_min(0),
            "gelu" => 0.5 * z * (1 + (z / Math.Sqrt(2)).erf()),
            _ => 0.5 * z * (1 + (Math.Sqrt(2 / Math.PI) * (z + 0.044715 * z.pow(3))).tanh()),
        };
        var hidden = gated
            ? Act(x.matmul(w[$"{prefix}.wi_0.weight"].t())) * x.matmul(w[$"{prefix}.wi_1.weight"].t())
            : Act(x.matmul(w[$"{prefix}.wi.weight"].t()));
        return hidden.matmul(w[$"{prefix}.wo.weight"].t());
    }

    /// <summary>The bias table's rows for every (query i, key j) of offset j − i, bucketed as below: (1, heads, T, K).</summary>
    private static Tensor Bias(Tensor table, long queries, long keys, bool bidirectional)
    {
        var buckets = new long[queries * keys];
        for (var i = 0L; i < queries; i++)
        {
            for (var j = 0L; j < keys; j++)
            {
                buckets[(i * keys) + j] = Bucket(j - i, bidirectional);
            }
        }

        return table.index_select(0, tensor(buckets)).reshape(queries, keys, -1).permute(2, 0, 1).unsqueeze(0);
    }

    /// <summary>Mesh TensorFlow's bucket of an offset, 32 buckets up to 128, in double arithmetic.</summary>
    private static long Bucket(long offset, bool bidirectional)
    {
        var (buckets, bucket) = (32L, 0L);
        if (bidirectional)
        {
            buckets /= 2;
            bucket = offset > 0 ? buckets : 0;
            offset = Math.Abs(offset);
        }
        else
        {
            offset = -Math.Min(offset, 0);
        }

        var exact = buckets / 2;
        return offset < exact
            ? bucket + offset
            : bucket + Math.Min(buckets - 1, exact + (long)(Math.Log((double)offset / exact) / Math.Log(128.0 / exact) * (buckets - exact)));
    }
}
