using System.Security.Cryptography;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Import;
using VisionLanguage.Models.Vit;
using VisionLanguage.Models.Weights;
using VisionLanguage.Testing;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Tests.Import;

public sealed class CheckpointImportTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("import-").FullName;

    [Fact]
    public void A_whole_fp16_CLIPModel_gives_its_vision_tower_and_the_frozen_encoder_computes_what_HF_CLIP_computes()
    {
        HfCheckpoints.WriteClip(Source, wholeModel: true, dtype: ScalarType.Float16);

        var imported = CheckpointImport.Import(Source, new ClipVitImport(), Output, Open);

        Assert.Equal(ImageEncoderFamily.Clip, imported.Family);
        Assert.Equal(new VitConfig { ImageSize = 16, PatchSize = 8, Width = 32, Depth = 2, Heads = 2, MlpHidden = 128, Activation = VitActivation.QuickGelu, LayerNormEps = 1e-5 }, imported.Vision);
        // The text tower's 2 tensors, both projections, the logit scale and the position-ids buffer.
        Assert.Equal(6, imported.IgnoredTensors);
        var entries = Safetensors.ReadEntries(Path.Combine(Output, CheckpointImport.WeightsFile));
        Assert.Equal(5 + 2 * 16 + 2, entries.Count);
        Assert.All(entries, entry => Assert.StartsWith("vision_model.", entry.Name, StringComparison.Ordinal));
        Assert.All(entries, entry => Assert.Equal(ScalarType.Float16, entry.Dtype));
        Assert.Equal(["config.json", "model.safetensors", "preprocessor_config.json"], imported.Source.Select(file => file.Name));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(Source, "model.safetensors")))), imported.Source[1].Sha256);
        var read = ImportedModelDescription.TryRead(Output)!;
        Assert.Equal((imported.Vision, imported.Family, imported.IgnoredTensors), (read.Vision, read.Family, read.IgnoredTensors));
        Assert.Equal(imported.Source, read.Source);

        using var encoder = FrozenImageEncoder.Load(ImageEncoderFamily.Clip, imported.Vision!, blocksUsed: 1, Path.Combine(Output, CheckpointImport.WeightsFile));
        using var scope = NewDisposeScope();
        var images = randn([2, 3, 16, 16], generator: new Generator(3));
        var tensors = Safetensors.Load(Path.Combine(Source, "model.safetensors")).ToDictionary(pair => pair.Key, pair => pair.Value.to_type(ScalarType.Float32));

        var expected = ClipByHand(images, tensors, layers: 1);

        Assert.True(encoder.Encode(images).allclose(expected, rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void An_EVA_ViT_in_shards_with_bare_LAVIS_names_imports_under_visual_encoder_and_its_key_has_no_bias()
    {
        HfCheckpoints.WriteEva(Source);

        var imported = CheckpointImport.Import(Source, new EvaVitImport(), Output, Open);

        Assert.Equal(ImageEncoderFamily.Vit, imported.Family);
        Assert.Equal(VitQkvBias.QueryValue, imported.Vision!.QkvBias);
        Assert.Equal(88, imported.Vision.MlpWidth);
        Assert.Equal(
            ["config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"],
            imported.Source.Select(file => file.Name));
        var names = Safetensors.ReadEntries(Path.Combine(Output, CheckpointImport.WeightsFile)).Select(entry => entry.Name).ToList();
        Assert.Equal(4 + 2 * 13, names.Count);
        Assert.Contains("visual_encoder.blocks.1.attn.q_bias", names);
        Assert.All(names, name => Assert.StartsWith("visual_encoder.", name, StringComparison.Ordinal));

        using var encoder = FrozenImageEncoder.Load(ImageEncoderFamily.Vit, imported.Vision, blocksUsed: 1, Path.Combine(Output, CheckpointImport.WeightsFile));
        using var scope = NewDisposeScope();
        var images = randn([2, 3, 16, 16], generator: new Generator(5));
        var tensors = new Dictionary<string, Tensor>();
        foreach (var shard in Directory.EnumerateFiles(Source, "model-*.safetensors"))
        {
            foreach (var (name, tensor) in Safetensors.Load(shard))
            {
                tensors[name] = tensor;
            }
        }

        Assert.True(encoder.Encode(images).allclose(EvaByHand(images, tensors), rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void A_BERT_with_Google_names_imports_under_BertModel_names_with_its_vocabulary_and_masked_LM_head()
    {
        HfCheckpoints.WriteBert(Source, ["a", "red", "circle"]);

        var imported = CheckpointImport.Import(Source, new BertImport(), Output, Open);

        Assert.Equal(new BertTextConfig { VocabSize = 9, HiddenSize = 32, Layers = 2, Heads = 2, IntermediateSize = 128, MaxPositionEmbeddings = 64 }, imported.Text);
        // The pooler's and the next-sentence head's weights and biases.
        Assert.Equal(4, imported.IgnoredTensors);
        var names = Safetensors.ReadEntries(Path.Combine(Output, CheckpointImport.WeightsFile)).Select(entry => entry.Name).ToHashSet();
        Assert.Contains("embeddings.LayerNorm.weight", names);
        Assert.Contains("encoder.layer.1.output.LayerNorm.bias", names);
        Assert.Contains("cls.predictions.transform.LayerNorm.weight", names);
        Assert.Contains("cls.predictions.bias", names);
        Assert.DoesNotContain(names, name => name.StartsWith("bert.", StringComparison.Ordinal) || name.EndsWith("gamma", StringComparison.Ordinal));
        Assert.Equal(File.ReadAllText(Path.Combine(Source, "vocab.txt")), File.ReadAllText(Path.Combine(Output, "vocab.txt")));
        Assert.True(File.Exists(Path.Combine(Output, "tokenizer_config.json")));
    }

    [Fact]
    public void A_wrong_shape_and_a_missing_name_are_reported_together_and_nothing_is_written()
    {
        HfCheckpoints.WriteClip(Source);
        var weights = Path.Combine(Source, "model.safetensors");
        var tensors = Safetensors.Load(weights);
        tensors.Remove("vision_model.encoder.layers.1.self_attn.k_proj.bias");
        tensors["vision_model.pre_layrnorm.weight"] = ones(31);
        Safetensors.Save(weights, tensors.Select(pair => (pair.Key, pair.Value)));

        var error = Assert.Throws<ModelImportException>(() => CheckpointImport.Import(Source, new ClipVitImport(), Output, Open));

        Assert.Equal(
            [
                "vision_model.pre_layrnorm.weight has shape [31], but config.json implies [32]",
                "vision_model.encoder.layers.1.self_attn.k_proj.bias is missing (expected shape [32])",
            ],
            error.Problems);
        Assert.Contains("(2 problems): 1) vision_model.pre_layrnorm.weight has shape [31]", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Output));
    }

    [Fact]
    public void A_folder_without_config_weights_or_vocabulary_lists_each_with_its_fix()
    {
        Directory.CreateDirectory(Source);
        File.WriteAllBytes(Path.Combine(Source, "pytorch_model.bin"), [1, 2, 3]);

        var error = Assert.Throws<ModelImportException>(() => CheckpointImport.Import(Source, new BertImport(), Output, Open));

        Assert.Equal(
            [
                "config.json is missing; the model's shape is read from it (save_pretrained writes it)",
                "neither model.safetensors nor model.safetensors.index.json is in the folder (it has pytorch_model.bin: convert them to safetensors, e.g. with save_pretrained(safe_serialization=True))",
                "vocab.txt is missing; bert checkpoints need it (save_pretrained of their tokenizer writes it)",
            ],
            error.Problems);
    }

    [Fact]
    public void An_index_that_names_a_missing_or_outside_shard_or_a_config_without_a_shape_is_refused()
    {
        HfCheckpoints.WriteEva(Source);
        var index = Path.Combine(Source, "model.safetensors.index.json");
        File.WriteAllText(index, File.ReadAllText(index)
            .Replace("\"cls_token\":\"model-00001-of-00002.safetensors\"", "\"cls_token\":\"../model-00001-of-00002.safetensors\"", StringComparison.Ordinal));
        File.Delete(Path.Combine(Source, "model-00002-of-00002.safetensors"));
        File.WriteAllText(Path.Combine(Source, "config.json"), """{"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 3, "intermediate_size": 88, "image_size": 16}""");

        var error = Assert.Throws<ModelImportException>(() => CheckpointImport.Import(Source, new EvaVitImport(), Output, Open));

        Assert.Contains("model.safetensors.index.json names shard '../model-00001-of-00002.safetensors', which is not a file name in the folder", error.Problems);
        Assert.Contains("shard model-00002-of-00002.safetensors, named by model.safetensors.index.json, is missing", error.Problems);
        Assert.Contains("config.json: patch_size is missing; add it (the model's shape cannot be known without it)", error.Problems);
        Assert.Contains("config.json: num_attention_heads 3 does not divide hidden_size 32", error.Problems);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Source => Path.Combine(_folder, "source");

    private string Output => Path.Combine(_folder, "output");

    private static string Open(string path) => path;

    /// <summary>HF <c>CLIPVisionTransformer</c> written out from its definition: pre-LN layers, separate q/k/v, QuickGELU.</summary>
    private static Tensor ClipByHand(Tensor images, Dictionary<string, Tensor> w, int layers)
    {
        var patches = nn.functional.conv2d(images, w["vision_model.embeddings.patch_embedding.weight"], strides: [8, 8]).flatten(2).transpose(1, 2);
        var cls = w["vision_model.embeddings.class_embedding"].expand(images.shape[0], 1, -1);
        var x = cat([cls, patches], 1) + w["vision_model.embeddings.position_embedding.weight"];
        x = LayerNorm(x, w, "vision_model.pre_layrnorm", 1e-5);
        for (var i = 0; i < layers; i++)
        {
            var p = $"vision_model.encoder.layers.{i}";
            var h = LayerNorm(x, w, $"{p}.layer_norm1", 1e-5);
            x = x + Linear(Attention(Linear(h, w, $"{p}.self_attn.q_proj"), Linear(h, w, $"{p}.self_attn.k_proj"), Linear(h, w, $"{p}.self_attn.v_proj"), heads: 2), w, $"{p}.self_attn.out_proj");
            var m = Linear(LayerNorm(x, w, $"{p}.layer_norm2", 1e-5), w, $"{p}.mlp.fc1");
            x = x + Linear(m * sigmoid(1.702 * m), w, $"{p}.mlp.fc2");
        }

        return x;
    }

    /// <summary>LAVIS <c>eva_vit.py</c> written out: qkv without bias plus cat(q_bias, 0, v_bias), exact GELU, one block.</summary>
    private static Tensor EvaByHand(Tensor images, Dictionary<string, Tensor> w)
    {
        var patches = nn.functional.conv2d(images, w["patch_embed.proj.weight"], w["patch_embed.proj.bias"], strides: [8, 8]).flatten(2).transpose(1, 2);
        var x = cat([w["cls_token"].expand(images.shape[0], -1, -1), patches], 1) + w["pos_embed"];
        var h = LayerNorm(x, w, "blocks.0.norm1", 1e-6);
        var bias = cat([w["blocks.0.attn.q_bias"], zeros(32), w["blocks.0.attn.v_bias"]]);
        var qkv = nn.functional.linear(h, w["blocks.0.attn.qkv.weight"], bias).chunk(3, dim: -1);
        x = x + Linear(Attention(qkv[0], qkv[1], qkv[2], heads: 2), w, "blocks.0.attn.proj");
        return x + Linear(nn.functional.gelu(Linear(LayerNorm(x, w, "blocks.0.norm2", 1e-6), w, "blocks.0.mlp.fc1")), w, "blocks.0.mlp.fc2");
    }

    private static Tensor Attention(Tensor q, Tensor k, Tensor v, int heads)
    {
        var (b, n, d) = (q.shape[0], q.shape[1], q.shape[2]);
        Tensor Split(Tensor t) => t.reshape(b, n, heads, d / heads).transpose(1, 2);
        var scores = Split(q).matmul(Split(k).transpose(-2, -1)) / Math.Sqrt(d / heads);
        return scores.softmax(-1).matmul(Split(v)).transpose(1, 2).reshape(b, n, d);
    }

    private static Tensor Linear(Tensor x, Dictionary<string, Tensor> w, string prefix) => nn.functional.linear(x, w[$"{prefix}.weight"], w[$"{prefix}.bias"]);

    private static Tensor LayerNorm(Tensor x, Dictionary<string, Tensor> w, string prefix, double eps) =>
        nn.functional.layer_norm(x, [x.shape[^1]], w[$"{prefix}.weight"], w[$"{prefix}.bias"], eps);
}
