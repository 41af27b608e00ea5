using System.Text.Json.Nodes;
using VisionLanguage.Models.Weights;
using static TorchSharp.torch;

namespace VisionLanguage.Testing;

/// <summary>
/// Writes small random checkpoints in the exact layouts their publishers use, names spelled out here from the reference
/// (HF transformers' <c>CLIPModel</c>/<c>CLIPVisionModel</c>, <c>BertForPreTraining</c> and <c>T5ForConditionalGeneration</c>,
/// LAVIS's <c>eva_vit.py</c>), not
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

    /// <summary>
    /// A T5 as HF's <c>save_pretrained</c> writes Flan-T5 (reference §6.2): <c>shared</c>, both stacks' blocks (the
    /// relative position bias table in block 0 only), an untied <c>lm_head</c> unless <paramref name="tied"/>, and, with
    /// <paramref name="embedCopies"/>, <c>encoder.embed_tokens</c> and <c>decoder.embed_tokens</c> as copies of
    /// <c>shared</c>; with <paramref name="crossAttentionBias"/> also the decoder's cross-attention table that old
    /// checkpoints carry and HF ignores. The config is Flan-T5's keys, <paramref name="denseActFn"/> spelled out.
    /// </summary>
    public static void WriteT5(
        string folder, int width = 16, int headDim = 4, int heads = 2, int ffn = 24, int layers = 2, int decoderLayers = 2, int vocab = 40,
        bool gated = true, string denseActFn = "gelu_new", bool tied = false, bool embedCopies = true, bool crossAttentionBias = false,
        ScalarType dtype = ScalarType.Float32)
    {
        Directory.CreateDirectory(folder);
        var inner = heads * headDim;
        var tensors = new List<(string, long[])> { ("shared.weight", [vocab, width]) };
        foreach (var (stack, depth) in new[] { ("encoder", layers), ("decoder", decoderLayers) })
        {
            for (var i = 0; i < depth; i++)
            {
                var block = $"{stack}.block.{i}";
                tensors.AddRange([
                    ($"{block}.layer.0.SelfAttention.q.weight", [inner, width]),
                    ($"{block}.layer.0.SelfAttention.k.weight", [inner, width]),
                    ($"{block}.layer.0.SelfAttention.v.weight", [inner, width]),
                    ($"{block}.layer.0.SelfAttention.o.weight", [width, inner]),
                ]);
                if (i == 0)
                {
                    tensors.Add(($"{block}.layer.0.SelfAttention.relative_attention_bias.weight", [32, heads]));
                }

                tensors.Add(($"{block}.layer.0.layer_norm.weight", [width]));
                var feedForward = $"{block}.layer.1";
                if (stack == "decoder")
                {
                    tensors.AddRange([
                        ($"{block}.layer.1.EncDecAttention.q.weight", [inner, width]),
                        ($"{block}.layer.1.EncDecAttention.k.weight", [inner, width]),
                        ($"{block}.layer.1.EncDecAttention.v.weight", [inner, width]),
                        ($"{block}.layer.1.EncDecAttention.o.weight", [width, inner]),
                        ($"{block}.layer.1.layer_norm.weight", [width]),
                    ]);
                    if (i == 0 && crossAttentionBias)
                    {
                        tensors.Add(($"{block}.layer.1.EncDecAttention.relative_attention_bias.weight", [32, heads]));
                    }

                    feedForward = $"{block}.layer.2";
                }

                tensors.AddRange(gated
                    ? [($"{feedForward}.DenseReluDense.wi_0.weight", [ffn, width]), ($"{feedForward}.DenseReluDense.wi_1.weight", [ffn, width])]
                    : [($"{feedForward}.DenseReluDense.wi.weight", [ffn, width])]);
                tensors.AddRange([($"{feedForward}.DenseReluDense.wo.weight", [width, ffn]), ($"{feedForward}.layer_norm.weight", [width])]);
            }

            tensors.Add(($"{stack}.final_layer_norm.weight", [width]));
        }

        if (!tied)
        {
            tensors.Add(("lm_head.weight", [vocab, width]));
        }

        using var scope = NewDisposeScope();
        // RMSNorm weights near 1 and a bias table of unit spread, as trained T5s have, so attention is far from uniform.
        var random = Random(tensors, seed: 19, ScalarType.Float32)
            .Select(entry => (entry.Item1, (entry.Item1.EndsWith("layer_norm.weight", StringComparison.Ordinal) ? entry.Item2 + 1
                : entry.Item1.EndsWith("relative_attention_bias.weight", StringComparison.Ordinal) ? entry.Item2 * 10 : entry.Item2).to_type(dtype)))
            .ToList();
        if (embedCopies)
        {
            var shared = random[0].Item2;
            random.AddRange([("encoder.embed_tokens.weight", shared.clone()), ("decoder.embed_tokens.weight", shared.clone())]);
        }

        Safetensors.Save(Path.Combine(folder, "model.safetensors"), random, new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(folder, "config.json"), new JsonObject
        {
            ["architectures"] = new JsonArray("T5ForConditionalGeneration"),
            ["model_type"] = "t5",
            ["d_ff"] = ffn,
            ["d_kv"] = headDim,
            ["d_model"] = width,
            ["decoder_start_token_id"] = 0,
            ["dense_act_fn"] = denseActFn,
            ["dropout_rate"] = 0.1,
            ["eos_token_id"] = 1,
            ["feed_forward_proj"] = gated ? "gated-gelu" : "relu",
            ["initializer_factor"] = 1.0,
            ["is_encoder_decoder"] = true,
            ["is_gated_act"] = gated,
            ["layer_norm_epsilon"] = 1e-6,
            ["n_positions"] = 512,
            ["num_decoder_layers"] = decoderLayers,
            ["num_heads"] = heads,
            ["num_layers"] = layers,
            ["output_past"] = true,
            ["pad_token_id"] = 0,
            ["relative_attention_max_distance"] = 128,
            ["relative_attention_num_buckets"] = 32,
            ["tie_word_embeddings"] = tied,
            ["use_cache"] = true,
            ["vocab_size"] = vocab,
        }.ToJsonString());
        // Not a real SentencePiece model: the import checks that the file is there and copies it.
        File.WriteAllBytes(Path.Combine(folder, "spiece.model"), [0x0a, 0x05, 0x3c, 0x70, 0x61, 0x64, 0x3e]);
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{"model_max_length": 512, "eos_token": "</s>", "pad_token": "<pad>", "extra_ids": 100}""");
        File.WriteAllText(Path.Combine(folder, "special_tokens_map.json"), """{"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}""");
    }

    private static List<(string, Tensor)> Random(List<(string Name, long[] Shape)> tensors, int seed, ScalarType dtype)
    {
        var generator = new Generator((ulong)seed);
        return [.. tensors.Select(tensor => (tensor.Name, randn(tensor.Shape, generator: generator).mul(0.1f).to_type(dtype)))];
    }
}
