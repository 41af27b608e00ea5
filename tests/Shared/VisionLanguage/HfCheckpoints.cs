using System.Text.Json.Nodes;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Testing;

/// <summary>
/// Writes small random checkpoints in the exact layouts their publishers use, names spelled out here from the reference
/// (HF transformers' <c>CLIPModel</c>/<c>CLIPVisionModel</c> and <c>BertForPreTraining</c>, LAVIS's <c>eva_vit.py</c>), not
/// taken from the models that load them: an import that misreads a name fails against these.
/// </summary>
internal static class HfCheckpoints
{
    /// <summary>
    /// A CLIP vision tower of <paramref name="width"/> × <paramref name="layers"/> stored as <paramref name="dtype"/>; with
    /// <paramref name="wholeModel"/>, a whole CLIPModel (text tower, projections, logit scale) with its nested config.
    /// </summary>
    public static void WriteClip(string folder, int width = 32, int layers = 2, int heads = 2, int imageSize = 16, int patch = 8, bool wholeModel = false, ScalarType dtype = ScalarType.Float32)
    {
        Directory.CreateDirectory(folder);
        var tokens = (imageSize / patch) * (imageSize / patch) + 1;
        var tensors = new List<(string, long[])>
        {
            ("vision_model.embeddings.class_embedding", [width]),
            ("vision_model.embeddings.patch_embedding.weight", [width, 3, patch, patch]),
            ("vision_model.embeddings.position_embedding.weight", [tokens, width]),
            ("vision_model.pre_layrnorm.weight", [width]),
            ("vision_model.pre_layrnorm.bias", [width]),
        };
        for (var i = 0; i < layers; i++)
        {
            var layer = $"vision_model.encoder.layers.{i}";
            foreach (var projection in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
            {
                tensors.Add(($"{layer}.self_attn.{projection}.weight", [width, width]));
                tensors.Add(($"{layer}.self_attn.{projection}.bias", [width]));
            }

            tensors.AddRange([
                ($"{layer}.layer_norm1.weight", [width]), ($"{layer}.layer_norm1.bias", [width]),
                ($"{layer}.mlp.fc1.weight", [4 * width, width]), ($"{layer}.mlp.fc1.bias", [4 * width]),
                ($"{layer}.mlp.fc2.weight", [width, 4 * width]), ($"{layer}.mlp.fc2.bias", [width]),
                ($"{layer}.layer_norm2.weight", [width]), ($"{layer}.layer_norm2.bias", [width]),
            ]);
        }

        tensors.AddRange([("vision_model.post_layernorm.weight", [width]), ("vision_model.post_layernorm.bias", [width])]);
        var vision = new JsonObject
        {
            ["hidden_size"] = width,
            ["intermediate_size"] = 4 * width,
            ["num_hidden_layers"] = layers,
            ["num_attention_heads"] = heads,
            ["image_size"] = imageSize,
            ["patch_size"] = patch,
            ["hidden_act"] = "quick_gelu",
            ["layer_norm_eps"] = 1e-5,
            ["num_channels"] = 3,
        };
        JsonObject config;
        if (wholeModel)
        {
            tensors.AddRange([
                ("text_model.embeddings.token_embedding.weight", [49, width]),
                ("text_model.final_layer_norm.weight", [width]),
                ("visual_projection.weight", [16, width]),
                ("text_projection.weight", [16, width]),
                ("logit_scale", []),
            ]);
            config = new JsonObject { ["model_type"] = "clip", ["architectures"] = new JsonArray("CLIPModel"), ["vision_config"] = vision, ["text_config"] = new JsonObject() };
        }
        else
        {
            vision["model_type"] = "clip_vision_model";
            config = vision;
        }

        using var scope = NewDisposeScope();
        var random = Random(tensors, seed: 11, dtype);
        if (wholeModel)
        {
            // HF stores the position-ids buffer of older checkpoints as int64.
            random.Add(("vision_model.embeddings.position_ids", arange(tokens).unsqueeze(0)));
        }

        Safetensors.Save(Path.Combine(folder, "model.safetensors"), random, new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        File.WriteAllText(Path.Combine(folder, "preprocessor_config.json"), """{"crop_size": 16, "image_mean": [0.48145466, 0.4578275, 0.40821073]}""");
    }

    /// <summary>An EVA ViT in LAVIS's bare naming (no <c>visual_encoder.</c> prefix), in two shards with HF's index.</summary>
    public static void WriteEva(string folder, int width = 32, int layers = 2, int heads = 2, int imageSize = 16, int patch = 8, int mlp = 88)
    {
        Directory.CreateDirectory(folder);
        var tokens = (imageSize / patch) * (imageSize / patch) + 1;
        var tensors = new List<(string, long[])>
        {
            ("cls_token", [1, 1, width]),
            ("pos_embed", [1, tokens, width]),
            ("patch_embed.proj.weight", [width, 3, patch, patch]),
            ("patch_embed.proj.bias", [width]),
        };
        for (var i = 0; i < layers; i++)
        {
            var block = $"blocks.{i}";
            tensors.AddRange([
                ($"{block}.norm1.weight", [width]), ($"{block}.norm1.bias", [width]),
                ($"{block}.attn.q_bias", [width]), ($"{block}.attn.v_bias", [width]),
                ($"{block}.attn.qkv.weight", [3 * width, width]),
                ($"{block}.attn.proj.weight", [width, width]), ($"{block}.attn.proj.bias", [width]),
                ($"{block}.norm2.weight", [width]), ($"{block}.norm2.bias", [width]),
                ($"{block}.mlp.fc1.weight", [mlp, width]), ($"{block}.mlp.fc1.bias", [mlp]),
                ($"{block}.mlp.fc2.weight", [width, mlp]), ($"{block}.mlp.fc2.bias", [width]),
            ]);
        }

        using var scope = NewDisposeScope();
        var random = Random(tensors, seed: 13, ScalarType.Float32);
        var half = random.Count / 2;
        var shards = new[] { ("model-00001-of-00002.safetensors", random[..half]), ("model-00002-of-00002.safetensors", random[half..]) };
        var map = new JsonObject();
        foreach (var (file, part) in shards)
        {
            Safetensors.Save(Path.Combine(folder, file), part, new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var (name, _) in part)
            {
                map[name] = file;
            }
        }

        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = map }.ToJsonString());
        File.WriteAllText(Path.Combine(folder, "config.json"), new JsonObject
        {
            ["model_type"] = "eva_vit",
            ["hidden_size"] = width,
            ["intermediate_size"] = mlp,
            ["num_hidden_layers"] = layers,
            ["num_attention_heads"] = heads,
            ["image_size"] = imageSize,
            ["patch_size"] = patch,
            ["layer_norm_eps"] = 1e-6,
        }.ToJsonString());
    }

    /// <summary>
    /// A BERT as Google's converted checkpoints store it (<c>BertForPreTraining</c>: <c>bert.</c> prefix, LayerNorm
    /// <c>gamma</c>/<c>beta</c>, the pooler and both pretraining heads) with a WordPiece <c>vocab.txt</c> of <paramref name="words"/>.
    /// </summary>
    public static void WriteBert(string folder, IReadOnlyList<string> words, int width = 32, int layers = 2, int heads = 2, int positions = 64)
    {
        Directory.CreateDirectory(folder);
        var vocabulary = new List<string> { "[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" };
        vocabulary.AddRange(words);
        var v = vocabulary.Count;
        var tensors = new List<(string, long[])>
        {
            ("bert.embeddings.word_embeddings.weight", [v, width]),
            ("bert.embeddings.position_embeddings.weight", [positions, width]),
            ("bert.embeddings.token_type_embeddings.weight", [2, width]),
            ("bert.embeddings.LayerNorm.gamma", [width]),
            ("bert.embeddings.LayerNorm.beta", [width]),
        };
        for (var i = 0; i < layers; i++)
        {
            var layer = $"bert.encoder.layer.{i}";
            foreach (var part in new[] { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense" })
            {
                tensors.Add(($"{layer}.{part}.weight", [width, width]));
                tensors.Add(($"{layer}.{part}.bias", [width]));
            }

            tensors.AddRange([
                ($"{layer}.attention.output.LayerNorm.gamma", [width]), ($"{layer}.attention.output.LayerNorm.beta", [width]),
                ($"{layer}.intermediate.dense.weight", [4 * width, width]), ($"{layer}.intermediate.dense.bias", [4 * width]),
                ($"{layer}.output.dense.weight", [width, 4 * width]), ($"{layer}.output.dense.bias", [width]),
                ($"{layer}.output.LayerNorm.gamma", [width]), ($"{layer}.output.LayerNorm.beta", [width]),
            ]);
        }

        tensors.AddRange([
            ("bert.pooler.dense.weight", [width, width]), ("bert.pooler.dense.bias", [width]),
            ("cls.predictions.bias", [v]),
            ("cls.predictions.transform.dense.weight", [width, width]), ("cls.predictions.transform.dense.bias", [width]),
            ("cls.predictions.transform.LayerNorm.gamma", [width]), ("cls.predictions.transform.LayerNorm.beta", [width]),
            ("cls.seq_relationship.weight", [2, width]), ("cls.seq_relationship.bias", [2]),
        ]);

        using var scope = NewDisposeScope();
        Safetensors.Save(Path.Combine(folder, "model.safetensors"), Random(tensors, seed: 17, ScalarType.Float32), new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(folder, "config.json"), new JsonObject
        {
            ["architectures"] = new JsonArray("BertForMaskedLM"),
            ["model_type"] = "bert",
            ["hidden_size"] = width,
            ["num_hidden_layers"] = layers,
            ["num_attention_heads"] = heads,
            ["intermediate_size"] = 4 * width,
            ["hidden_act"] = "gelu",
            ["max_position_embeddings"] = positions,
            ["type_vocab_size"] = 2,
            ["vocab_size"] = v,
            ["layer_norm_eps"] = 1e-12,
        }.ToJsonString());
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), vocabulary);
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{"do_lower_case": true}""");
    }

    private static List<(string, Tensor)> Random(List<(string Name, long[] Shape)> tensors, int seed, ScalarType dtype)
    {
        var generator = new Generator((ulong)seed);
        return [.. tensors.Select(tensor => (tensor.Name, randn(tensor.Shape, generator: generator).mul(0.1f).to_type(dtype)))];
    }
}
