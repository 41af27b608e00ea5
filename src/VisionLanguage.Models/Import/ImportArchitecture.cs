using System.Text.Json.Nodes;
using VisionLanguage.Models.Blip2;
using VisionLanguage.Models.Vit;

namespace VisionLanguage.Models.Import;

/// <summary>
/// What a checkpoint of one architecture holds: how its <c>config.json</c> reads, every tensor name and shape that
/// config implies, the names it is stored under (<see cref="Canonical"/>: a checkpoint's own prefix and legacy names
/// mapped to the names the models here load), and the tokenizer files it needs.
/// </summary>
public abstract class ImportArchitecture
{
    public static IReadOnlyList<ImportArchitecture> All { get; } = [new BertImport(), new ClipVitImport(), new EvaVitImport(), new OptImport(), new T5Import()];

    /// <summary>The architecture's name in options and artifacts: <c>bert</c>, <c>clip_vit</c>, <c>eva_vit</c>, <c>opt</c>, <c>t5</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Files besides config.json and the weights that must be in the folder.</summary>
    public virtual IReadOnlyList<string> RequiredFiles => [];

    /// <summary>Files copied along when present (tokenizer and preprocessing settings).</summary>
    public virtual IReadOnlyList<string> OptionalFiles => [];

    public static ImportArchitecture For(string name) =>
        All.FirstOrDefault(architecture => architecture.Name == name)
        ?? throw new ArgumentException($"unknown architecture '{name}'; known: {string.Join(", ", All.Select(a => a.Name))}", nameof(name));

    /// <summary>The model <paramref name="config"/> describes; what does not read or is not supported is added to <paramref name="problems"/>.</summary>
    public abstract ImportedModelDescription Describe(JsonObject config, List<string> problems);

    /// <summary>Every tensor the model of <paramref name="description"/> has, under its canonical name.</summary>
    public abstract IEnumerable<ExpectedTensor> Expected(ImportedModelDescription description);

    /// <summary>The canonical name of checkpoint tensor <paramref name="name"/>; null when the model here does not use it.</summary>
    public abstract string? Canonical(string name);

    protected static IEnumerable<ExpectedTensor> LayerNorm(string prefix, long width, bool optional = false) =>
    [
        new($"{prefix}.weight", [width], optional),
        new($"{prefix}.bias", [width], optional),
    ];

    protected static IEnumerable<ExpectedTensor> Linear(string prefix, long input, long output, bool optional = false) =>
    [
        new($"{prefix}.weight", [output, input], optional),
        new($"{prefix}.bias", [output], optional),
    ];
}

/// <summary>A tensor a checkpoint must (or, when <paramref name="Optional"/>, may) hold, with the shape its config implies.</summary>
public sealed record ExpectedTensor(string Name, long[] Shape, bool Optional = false);

/// <summary>HF <c>BertModel</c>, <c>BertForMaskedLM</c> or <c>BertForPreTraining</c> weights (bert-base-uncased), with <c>vocab.txt</c>.</summary>
public sealed class BertImport : ImportArchitecture
{
    public const string Vocabulary = "vocab.txt";

    public override string Name => "bert";

    public override IReadOnlyList<string> RequiredFiles => [Vocabulary];

    public override IReadOnlyList<string> OptionalFiles => ["tokenizer_config.json", "special_tokens_map.json"];

    public override ImportedModelDescription Describe(JsonObject config, List<string> problems)
    {
        // HF BertConfig's defaults stand for keys the file leaves out, as from_pretrained reads it.
        var read = new ConfigReader(config, "config.json", problems);
        read.Expect("model_type", "bert");
        read.Expect("hidden_act", "gelu");
        var text = new BertTextConfig
        {
            VocabSize = read.Int("vocab_size", 30_522),
            HiddenSize = read.Int("hidden_size", 768),
            Layers = read.Int("num_hidden_layers", 12),
            Heads = read.Int("num_attention_heads", 12),
            IntermediateSize = read.Int("intermediate_size", 3072),
            MaxPositionEmbeddings = read.Int("max_position_embeddings", 512),
            TypeVocabSize = read.Int("type_vocab_size", 2),
            LayerNormEps = read.Double("layer_norm_eps", 1e-12),
        };
        read.Divides("num_attention_heads", text.Heads, "hidden_size", text.HiddenSize);
        return new ImportedModelDescription { Architecture = Name, Text = text };
    }

    public override IEnumerable<ExpectedTensor> Expected(ImportedModelDescription description)
    {
        var text = description.Text!;
        long h = text.HiddenSize, i = text.IntermediateSize;
        yield return new("embeddings.word_embeddings.weight", [text.VocabSize, h]);
        yield return new("embeddings.position_embeddings.weight", [text.MaxPositionEmbeddings, h]);
        yield return new("embeddings.token_type_embeddings.weight", [text.TypeVocabSize, h]);
        foreach (var tensor in LayerNorm("embeddings.LayerNorm", h))
        {
            yield return tensor;
        }

        for (var layer = 0; layer < text.Layers; layer++)
        {
            var prefix = $"encoder.layer.{layer}";
            IEnumerable<ExpectedTensor> parts =
            [
                .. Linear($"{prefix}.attention.self.query", h, h),
                .. Linear($"{prefix}.attention.self.key", h, h),
                .. Linear($"{prefix}.attention.self.value", h, h),
                .. Linear($"{prefix}.attention.output.dense", h, h),
                .. LayerNorm($"{prefix}.attention.output.LayerNorm", h),
                .. Linear($"{prefix}.intermediate.dense", h, i),
                .. Linear($"{prefix}.output.dense", i, h),
                .. LayerNorm($"{prefix}.output.LayerNorm", h),
            ];
            foreach (var tensor in parts)
            {
                yield return tensor;
            }
        }

        // The masked-LM head (BertForMaskedLM, BertForPreTraining); a plain BertModel has none, and the Q-Former's starts fresh then.
        IEnumerable<ExpectedTensor> head =
        [
            .. Linear("cls.predictions.transform.dense", h, h, optional: true),
            .. LayerNorm("cls.predictions.transform.LayerNorm", h, optional: true),
            new("cls.predictions.bias", [text.VocabSize], Optional: true),
        ];
        foreach (var tensor in head)
        {
            yield return tensor;
        }
    }

    public override string? Canonical(string name)
    {
        var bare = name.StartsWith("bert.", StringComparison.Ordinal) ? name["bert.".Length..] : name;
        if (!bare.StartsWith("embeddings.", StringComparison.Ordinal) && !bare.StartsWith("encoder.", StringComparison.Ordinal)
            && !bare.StartsWith("cls.predictions.", StringComparison.Ordinal))
        {
            return null;
        }

        // Google's original checkpoints (bert-base-uncased among them) name LayerNorm's parameters gamma and beta.
        return bare.EndsWith("LayerNorm.gamma", StringComparison.Ordinal) ? bare[..^"gamma".Length] + "weight"
            : bare.EndsWith("LayerNorm.beta", StringComparison.Ordinal) ? bare[..^"beta".Length] + "bias"
            : bare.EndsWith(".position_ids", StringComparison.Ordinal) || bare.StartsWith("cls.predictions.decoder.", StringComparison.Ordinal) ? null
            : bare;
    }
}

/// <summary>The vision tower of HF <c>CLIPVisionModel</c> or <c>CLIPModel</c> (openai/clip-vit-large-patch14), names under <c>vision_model.</c>.</summary>
public sealed class ClipVitImport : ImportArchitecture
{
    private const string Prefix = "vision_model.";

    public override string Name => "clip_vit";

    public override IReadOnlyList<string> OptionalFiles => ["preprocessor_config.json"];

    public override ImportedModelDescription Describe(JsonObject config, List<string> problems)
    {
        // A whole CLIPModel nests its tower's settings under vision_config; a CLIPVisionModel has them at the top.
        var nested = config["model_type"]?.ToString() == "clip";
        var section = nested ? config["vision_config"] as JsonObject ?? [] : config;
        var read = new ConfigReader(section, nested ? "config.json vision_config" : "config.json", problems);
        if (!nested)
        {
            read.Expect("model_type", "clip_vision_model");
        }

        var activation = read.String("hidden_act", "quick_gelu") switch
        {
            "quick_gelu" => VitActivation.QuickGelu,
            "gelu" => VitActivation.Gelu,
            var other => read.Unsupported("hidden_act", other, "quick_gelu or gelu", VitActivation.QuickGelu),
        };
        var width = read.Int("hidden_size", 768);
        var vision = new VitConfig
        {
            ImageSize = read.Int("image_size", 224),
            PatchSize = read.Int("patch_size", 32),
            Width = width,
            Depth = read.Int("num_hidden_layers", 12),
            Heads = read.Int("num_attention_heads", 12),
            MlpHidden = read.Int("intermediate_size", 3072),
            Activation = activation,
            LayerNormEps = read.Double("layer_norm_eps", 1e-5),
        };
        read.Divides("patch_size", vision.PatchSize, "image_size", vision.ImageSize);
        read.Divides("num_attention_heads", vision.Heads, "hidden_size", vision.Width);
        read.Expect("num_channels", 3);
        return new ImportedModelDescription { Architecture = Name, Family = ImageEncoderFamily.Clip, Vision = vision };
    }

    public override IEnumerable<ExpectedTensor> Expected(ImportedModelDescription description)
    {
        var vision = description.Vision!;
        long d = vision.Width, i = vision.MlpWidth, p = vision.PatchSize;
        yield return new($"{Prefix}embeddings.class_embedding", [d]);
        yield return new($"{Prefix}embeddings.patch_embedding.weight", [d, 3, p, p]);
        yield return new($"{Prefix}embeddings.position_embedding.weight", [vision.Tokens, d]);
        foreach (var tensor in LayerNorm($"{Prefix}pre_layrnorm", d))
        {
            yield return tensor;
        }

        for (var layer = 0; layer < vision.Depth; layer++)
        {
            var prefix = $"{Prefix}encoder.layers.{layer}";
            IEnumerable<ExpectedTensor> parts =
            [
                .. Linear($"{prefix}.self_attn.q_proj", d, d),
                .. Linear($"{prefix}.self_attn.k_proj", d, d),
                .. Linear($"{prefix}.self_attn.v_proj", d, d),
                .. Linear($"{prefix}.self_attn.out_proj", d, d),
                .. LayerNorm($"{prefix}.layer_norm1", d),
                .. Linear($"{prefix}.mlp.fc1", d, i),
                .. Linear($"{prefix}.mlp.fc2", i, d),
                .. LayerNorm($"{prefix}.layer_norm2", d),
            ];
            foreach (var tensor in parts)
            {
                yield return tensor;
            }
        }

        // Part of the tower, unused by BLIP-2 (LAVIS applies its own ln_vision).
        foreach (var tensor in LayerNorm($"{Prefix}post_layernorm", d, optional: true))
        {
            yield return tensor;
        }
    }

    public override string? Canonical(string name) =>
        name.StartsWith(Prefix, StringComparison.Ordinal) && !name.EndsWith(".position_ids", StringComparison.Ordinal) ? name : null;
}

/// <summary>
/// EVA-CLIP's ViT in LAVIS's naming (<c>eva_vit.py</c>, reference §3.1), with or without the <c>visual_encoder.</c>
/// prefix. LAVIS publishes it as a bare state dict; its <c>config.json</c> here uses HF's key names for the shape
/// (hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, image_size, patch_size, layer_norm_eps).
/// </summary>
public sealed class EvaVitImport : ImportArchitecture
{
    private const string Prefix = "visual_encoder.";

    public override string Name => "eva_vit";

    public override ImportedModelDescription Describe(JsonObject config, List<string> problems)
    {
        var read = new ConfigReader(config, "config.json", problems);
        var vision = new VitConfig
        {
            ImageSize = read.Int("image_size"),
            PatchSize = read.Int("patch_size"),
            Width = read.Int("hidden_size"),
            Depth = read.Int("num_hidden_layers"),
            Heads = read.Int("num_attention_heads"),
            MlpHidden = read.Int("intermediate_size"),
            QkvBias = VitQkvBias.QueryValue,
            LayerNormEps = read.Double("layer_norm_eps", 1e-6),
        };
        read.Divides("patch_size", vision.PatchSize, "image_size", vision.ImageSize);
        read.Divides("num_attention_heads", vision.Heads, "hidden_size", vision.Width);
        return new ImportedModelDescription { Architecture = Name, Family = ImageEncoderFamily.Vit, Vision = vision };
    }

    public override IEnumerable<ExpectedTensor> Expected(ImportedModelDescription description)
    {
        var vision = description.Vision!;
        long d = vision.Width, i = vision.MlpWidth, p = vision.PatchSize;
        yield return new($"{Prefix}cls_token", [1, 1, d]);
        yield return new($"{Prefix}pos_embed", [1, vision.Tokens, d]);
        yield return new($"{Prefix}patch_embed.proj.weight", [d, 3, p, p]);
        yield return new($"{Prefix}patch_embed.proj.bias", [d]);
        for (var block = 0; block < vision.Depth; block++)
        {
            var prefix = $"{Prefix}blocks.{block}";
            IEnumerable<ExpectedTensor> parts =
            [
                .. LayerNorm($"{prefix}.norm1", d),
                new($"{prefix}.attn.qkv.weight", [3 * d, d]),
                new($"{prefix}.attn.q_bias", [d]),
                new($"{prefix}.attn.v_bias", [d]),
                .. Linear($"{prefix}.attn.proj", d, d),
                .. LayerNorm($"{prefix}.norm2", d),
                .. Linear($"{prefix}.mlp.fc1", d, i),
                .. Linear($"{prefix}.mlp.fc2", i, d),
            ];
            foreach (var tensor in parts)
            {
                yield return tensor;
            }
        }
    }

    public override string? Canonical(string name)
    {
        var bare = name.StartsWith(Prefix, StringComparison.Ordinal) ? name[Prefix.Length..] : name;
        return bare is "cls_token" or "pos_embed" || bare.StartsWith("patch_embed.", StringComparison.Ordinal) || bare.StartsWith("blocks.", StringComparison.Ordinal)
            ? Prefix + bare
            : null;
    }
}
