using System.Text.Json.Nodes;
using VisionLanguage.Models.Import;
using VisionLanguage.Models.Llm;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Llm;

/// <summary>The OPT-architecture decoder (reference §6.1): HF's names, its positions, its cache and its import.</summary>
public sealed class OptTests : IDisposable
{
    private static readonly OptConfig Tiny = new()
    {
        VocabSize = 30, HiddenSize = 16, Layers = 2, Heads = 2, FfnDim = 32, MaxPositionEmbeddings = 20, WordEmbedWidth = 16,
    };

    private readonly string _folder = Directory.CreateTempSubdirectory("opt-").FullName;

    [Theory]
    [InlineData(true, 16)]
    [InlineData(false, 8)]
    public void An_OPT_saved_in_HF_layout_imports_with_the_same_parameters_and_logits(bool layerNormBefore, int wordWidth)
    {
        var config = Tiny with { LayerNormBefore = layerNormBefore, WordEmbedWidth = wordWidth };
        using var original = new OptForCausalLM(config, new Generator(1));
        var source = Path.Combine(_folder, "source");
        Directory.CreateDirectory(source);
        // HF writes the tied lm_head too; the import drops it.
        var state = BlipWeights.DistinctState(original).Append(("lm_head.weight", original.EmbedTokens));
        Safetensors.Save(Path.Combine(source, "model.safetensors"), state, new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(source, "config.json"), new JsonObject
        {
            ["model_type"] = "opt", ["vocab_size"] = 30, ["hidden_size"] = 16, ["num_hidden_layers"] = 2, ["num_attention_heads"] = 2,
            ["ffn_dim"] = 32, ["max_position_embeddings"] = 20, ["do_layer_norm_before"] = layerNormBefore, ["word_embed_proj_dim"] = wordWidth,
            ["activation_function"] = "relu", ["pad_token_id"] = 1, ["bos_token_id"] = 2, ["eos_token_id"] = 2,
        }.ToJsonString());
        File.WriteAllText(Path.Combine(source, "vocab.json"), """{"</s>": 2, "<pad>": 1}""");
        File.WriteAllText(Path.Combine(source, "merges.txt"), "#version: 0.2\n");

        var imported = CheckpointImport.Import(source, new OptImport(), Path.Combine(_folder, "out"), path => path);

        Assert.Equal(config, imported.Opt);
        Assert.Equal(1, imported.IgnoredTensors);
        var names = Safetensors.ReadEntries(Path.Combine(_folder, "out", CheckpointImport.WeightsFile)).Select(entry => entry.Name).ToList();
        Assert.Contains("model.decoder.layers.1.self_attn.q_proj.weight", names);
        Assert.Equal(!layerNormBefore ? [] : ["model.decoder.final_layer_norm.weight"], names.Where(name => name == "model.decoder.final_layer_norm.weight"));
        Assert.Equal(wordWidth != 16, names.Contains("model.decoder.project_in.weight"));
        using var loaded = new OptForCausalLM(imported.Opt!, new Generator(2));
        BlipWeights.Load(loaded, 0, Path.Combine(_folder, "out", CheckpointImport.WeightsFile), WeightsLoading.Strict);
        using var scope = NewDisposeScope();
        var ids = tensor(new long[,] { { 2, 7, 9, 4 } });
        var mask = ones(1, 4, ScalarType.Int64);
        Assert.True(original.Forward(original.Embed(ids), mask).equal(loaded.Forward(loaded.Embed(ids), mask)).all().item<bool>());
    }

    [Fact]
    public void Positions_start_at_the_first_real_token_so_left_and_right_padding_change_no_real_logit()
    {
        using var model = new OptForCausalLM(Tiny, new Generator(3));
        using var scope = NewDisposeScope();
        var plain = model.Forward(model.Embed(tensor(new long[,] { { 2, 7, 9 } })), ones(1, 3, ScalarType.Int64));
        var left = model.Forward(model.Embed(tensor(new long[,] { { 1, 1, 2, 7, 9 } })), tensor(new long[,] { { 0, 0, 1, 1, 1 } }));
        var right = model.Forward(model.Embed(tensor(new long[,] { { 2, 7, 9, 1 } })), tensor(new long[,] { { 1, 1, 1, 0 } }));

        Assert.True(plain.allclose(left.narrow(1, 2, 3), rtol: 1e-5, atol: 1e-6));
        Assert.True(plain.allclose(right.narrow(1, 0, 3), rtol: 1e-5, atol: 1e-6));
        Assert.False(left.isnan().any().item<bool>());
    }

    [Fact]
    public void Decoding_with_the_key_value_cache_equals_recomputing_the_whole_prefix()
    {
        using var model = new OptForCausalLM(Tiny, new Generator(4));
        using var scope = NewDisposeScope();
        var ids = tensor(new long[,] { { 1, 2, 7, 9, 4, 11 }, { 2, 5, 5, 8, 3, 12 } });
        var mask = tensor(new long[,] { { 0, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 1 } });
        var cache = model.NewCache();
        try
        {
            // A prompt of three, then one token a step.
            var stepped = new List<Tensor> { model.Forward(model.Embed(ids.narrow(1, 0, 3)), mask.narrow(1, 0, 3), cache).narrow(1, 2, 1) };
            for (var t = 3; t < 6; t++)
            {
                stepped.Add(model.Forward(model.Embed(ids.narrow(1, t, 1)), mask.narrow(1, 0, t + 1), cache));
            }

            var full = model.Forward(model.Embed(ids), mask).narrow(1, 2, 4);

            Assert.True(cat(stepped, dim: 1).allclose(full, rtol: 1e-5, atol: 1e-6));
        }
        finally
        {
            cache.ForEach(layer => layer.Dispose());
        }
    }

    [Fact]
    public void An_OPT_checkpoint_of_another_shape_lists_every_mismatch()
    {
        var source = Path.Combine(_folder, "source");
        Directory.CreateDirectory(source);
        using var model = new OptForCausalLM(Tiny, new Generator(5));
        Safetensors.Save(Path.Combine(source, "model.safetensors"), BlipWeights.DistinctState(model).Where(entry => !entry.Name.Contains("layers.1.fc2", StringComparison.Ordinal)));
        File.WriteAllText(Path.Combine(source, "config.json"), """{"model_type": "opt", "vocab_size": 30, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "ffn_dim": 64, "max_position_embeddings": 20}""");

        var error = Assert.Throws<ModelImportException>(() => CheckpointImport.Import(source, new OptImport(), Path.Combine(_folder, "out"), path => path));

        Assert.Equal(
            [
                "model.decoder.layers.0.fc1.weight has shape [32, 16], but config.json implies [64, 16]",
                "model.decoder.layers.0.fc1.bias has shape [32], but config.json implies [64]",
                "model.decoder.layers.0.fc2.weight has shape [16, 32], but config.json implies [16, 64]",
                "model.decoder.layers.1.fc1.weight has shape [32, 16], but config.json implies [64, 16]",
                "model.decoder.layers.1.fc1.bias has shape [32], but config.json implies [64]",
                "model.decoder.layers.1.fc2.weight is missing (expected shape [16, 64])",
                "model.decoder.layers.1.fc2.bias is missing (expected shape [16])",
                "vocab.json is missing; opt checkpoints need it (save_pretrained of their tokenizer writes it)",
                "merges.txt is missing; opt checkpoints need it (save_pretrained of their tokenizer writes it)",
            ],
            error.Problems);
    }

    [Theory]
    [InlineData(true, 16)]
    [InlineData(false, 8)]
    public void The_config_json_it_writes_reads_back_as_the_same_shape(bool layerNormBefore, int wordWidth)
    {
        var config = Tiny with { LayerNormBefore = layerNormBefore, WordEmbedWidth = wordWidth, PadTokenId = 0 };
        var written = config.ToHfConfig();
        var problems = new List<string>();

        var read = OptConfig.ReadHfConfig(JsonNode.Parse(written.ToJsonString())!.AsObject(), problems);

        Assert.Equal(config, read);
        Assert.Empty(problems);
        Assert.Equal(("opt", "OPTForCausalLM"), (written["model_type"]!.ToString(), written["architectures"]![0]!.ToString()));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
