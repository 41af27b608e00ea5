using System.Text.Json.Nodes;
using VisionLanguage.Models.Llm;

namespace VisionLanguage.Models.Import;

/// <summary>
/// HF's <c>OPTForCausalLM</c> (facebook/opt-*), names under <c>model.decoder.</c> (an <c>OPTModel</c>'s bare
/// <c>decoder.</c> too), with its byte-level BPE tokenizer (<c>vocab.json</c>, <c>merges.txt</c>). <c>lm_head.weight</c>
/// is the word embeddings, tied, and is not kept.
/// </summary>
public sealed class OptImport : ImportArchitecture
{
    private const string Prefix = "model.decoder.";

    public override string Name => "opt";

    public override IReadOnlyList<string> RequiredFiles => ["vocab.json", "merges.txt"];

    public override IReadOnlyList<string> OptionalFiles => ["tokenizer_config.json", "special_tokens_map.json", "generation_config.json"];

    public override ImportedModelDescription Describe(JsonObject config, List<string> problems) =>
        new() { Architecture = Name, Opt = OptConfig.ReadHfConfig(config, problems) };

    public override IEnumerable<ExpectedTensor> Expected(ImportedModelDescription description)
    {
        var opt = description.Opt!;
        long d = opt.HiddenSize, f = opt.FfnDim, w = opt.WordEmbedWidth;
        yield return new($"{Prefix}embed_tokens.weight", [opt.VocabSize, w]);
        yield return new($"{Prefix}embed_positions.weight", [opt.MaxPositionEmbeddings + OptConfig.PositionOffset, d]);
        if (opt.Projects)
        {
            yield return new($"{Prefix}project_in.weight", [d, w]);
            yield return new($"{Prefix}project_out.weight", [w, d]);
        }

        if (opt.LayerNormBefore)
        {
            foreach (var tensor in LayerNorm($"{Prefix}final_layer_norm", d))
            {
                yield return tensor;
            }
        }

        for (var layer = 0; layer < opt.Layers; layer++)
        {
            var prefix = $"{Prefix}layers.{layer}";
            IEnumerable<ExpectedTensor> parts =
            [
                .. Linear($"{prefix}.self_attn.k_proj", d, d),
                .. Linear($"{prefix}.self_attn.v_proj", d, d),
                .. Linear($"{prefix}.self_attn.q_proj", d, d),
                .. Linear($"{prefix}.self_attn.out_proj", d, d),
                .. LayerNorm($"{prefix}.self_attn_layer_norm", d),
                .. Linear($"{prefix}.fc1", d, f),
                .. Linear($"{prefix}.fc2", f, d),
                .. LayerNorm($"{prefix}.final_layer_norm", d),
            ];
            foreach (var tensor in parts)
            {
                yield return tensor;
            }
        }
    }

    public override string? Canonical(string name) =>
        name.StartsWith(Prefix, StringComparison.Ordinal) ? name
        : name.StartsWith("decoder.", StringComparison.Ordinal) ? "model." + name
        : null;
}

/// <summary>
/// HF's <c>T5ForConditionalGeneration</c> (T5 v1.1, Flan-T5, the original T5), names as HF saves them (no prefix:
/// <c>shared</c>, <c>encoder.block.N.layer.…</c>, <c>decoder.…</c>, <c>lm_head</c>), with its SentencePiece model
/// (<c>spiece.model</c>). <c>encoder.embed_tokens.weight</c> and <c>decoder.embed_tokens.weight</c>, which some files
/// hold as copies of <c>shared.weight</c>, are not kept; nor is a tied <c>lm_head.weight</c>, or the cross-attention
/// bias table old checkpoints carry and HF ignores on load.
/// </summary>
public sealed class T5Import : ImportArchitecture
{
    public override string Name => "t5";

    public override IReadOnlyList<string> RequiredFiles => ["spiece.model"];

    public override IReadOnlyList<string> OptionalFiles => ["tokenizer_config.json", "special_tokens_map.json", "generation_config.json"];

    public override ImportedModelDescription Describe(JsonObject config, List<string> problems) =>
        new() { Architecture = Name, T5 = T5Config.ReadHfConfig(config, problems) };

    public override IEnumerable<ExpectedTensor> Expected(ImportedModelDescription description)
    {
        var t5 = description.T5!;
        yield return new("shared.weight", [t5.VocabSize, t5.HiddenSize]);
        foreach (var tensor in Stack(t5, "encoder", t5.Layers, isDecoder: false).Concat(Stack(t5, "decoder", t5.DecoderLayers, isDecoder: true)))
        {
            yield return tensor;
        }

        if (!t5.TieWordEmbeddings)
        {
            yield return new("lm_head.weight", [t5.VocabSize, t5.HiddenSize]);
        }
    }

    public override string? Canonical(string name) =>
        name is "encoder.embed_tokens.weight" or "decoder.embed_tokens.weight" or "decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight"
            ? null
            : name == "shared.weight" || name == "lm_head.weight" || name.StartsWith("encoder.", StringComparison.Ordinal)
                || name.StartsWith("decoder.", StringComparison.Ordinal) ? name
            : null;

    private static IEnumerable<ExpectedTensor> Stack(T5Config t5, string stack, int depth, bool isDecoder)
    {
        long d = t5.HiddenSize, inner = t5.InnerDim, f = t5.FfnDim;
        for (var block = 0; block < depth; block++)
        {
            var prefix = $"{stack}.block.{block}.layer";
            foreach (var tensor in Attention($"{prefix}.0.SelfAttention", d, inner))
            {
                yield return tensor;
            }

            if (block == 0)
            {
                yield return new($"{prefix}.0.SelfAttention.relative_attention_bias.weight", [t5.RelativeAttentionBuckets, t5.Heads]);
            }

            yield return new($"{prefix}.0.layer_norm.weight", [d]);
            if (isDecoder)
            {
                foreach (var tensor in Attention($"{prefix}.1.EncDecAttention", d, inner))
                {
                    yield return tensor;
                }

                yield return new($"{prefix}.1.layer_norm.weight", [d]);
            }

            var feedForward = $"{prefix}.{(isDecoder ? 2 : 1)}";
            if (t5.GatedFeedForward)
            {
                yield return new($"{feedForward}.DenseReluDense.wi_0.weight", [f, d]);
                yield return new($"{feedForward}.DenseReluDense.wi_1.weight", [f, d]);
            }
            else
            {
                yield return new($"{feedForward}.DenseReluDense.wi.weight", [f, d]);
            }

            yield return new($"{feedForward}.DenseReluDense.wo.weight", [d, f]);
            yield return new($"{feedForward}.layer_norm.weight", [d]);
        }

        yield return new($"{stack}.final_layer_norm.weight", [d]);
    }

    private static IEnumerable<ExpectedTensor> Attention(string prefix, long width, long inner) =>
    [
        new($"{prefix}.q.weight", [inner, width]),
        new($"{prefix}.k.weight", [inner, width]),
        new($"{prefix}.v.weight", [inner, width]),
        new($"{prefix}.o.weight", [width, inner]),
    ];
}
