using TorchSharp.Modules;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Llm;

/// <summary>
/// HF's <c>OPTForCausalLM</c> in its parameter names (<c>model.decoder.*</c>, reference §6.1): learned positions offset
/// by 2 and counted over the attention mask (so left padding does not shift them), causal self-attention with q scaled
/// by head_dim^-0.5, ReLU feed-forwards, pre- or post-LayerNorm by config, <c>project_in</c>/<c>project_out</c> when
/// the word embeddings are narrower, and <c>lm_head</c> tied to <c>embed_tokens</c>. Inputs may be embeddings, so
/// BLIP-2's soft visual prompt goes in front of the text. Dropout is left out: the model is frozen in BLIP-2.
/// </summary>
public sealed class OptForCausalLM : nn.Module
{
    private readonly OptDecoderWrapper model;

    public OptForCausalLM(OptConfig config, Generator generator)
        : base(nameof(OptForCausalLM))
    {
        Config = config;
        model = new OptDecoderWrapper(config, generator);
        RegisterComponents();
    }

    public OptConfig Config { get; }

    /// <summary>The word embeddings (vocab, word width); also the LM head's weight.</summary>
    public Tensor EmbedTokens => model.decoder.EmbedTokens;

    /// <summary>Word embeddings of <paramref name="ids"/> (B, T) → (B, T, word width), what a soft prompt is placed beside.</summary>
    public Tensor Embed(Tensor ids) => model.decoder.Embed(ids);

    /// <summary>
    /// Logits (B, T, vocab) of <paramref name="inputsEmbeds"/> (B, T, word width). <paramref name="attentionMask"/>
    /// (B, past + T; 1 on tokens, 0 on padding) covers the cached tokens too; <paramref name="cache"/>, one per layer,
    /// holds their keys and values and takes the new ones.
    /// </summary>
    public Tensor Forward(Tensor inputsEmbeds, Tensor attentionMask, IReadOnlyList<LayerKeyValues>? cache = null)
    {
        using var scope = NewDisposeScope();
        var hidden = model.decoder.Forward(inputsEmbeds, attentionMask, cache);
        return nn.functional.linear(hidden, EmbedTokens).MoveToOuterDisposeScope();
    }

    /// <summary>A cache for <see cref="Forward"/>: one entry per layer.</summary>
    public List<LayerKeyValues> NewCache() => [.. Enumerable.Range(0, Config.Layers).Select(_ => new LayerKeyValues())];
}

/// <summary>HF's <c>OPTModel</c>: only a name level (<c>model.</c>) around the decoder.</summary>
public sealed class OptDecoderWrapper : nn.Module
{
    internal readonly OptDecoder decoder;

    public OptDecoderWrapper(OptConfig config, Generator generator)
        : base(nameof(OptDecoderWrapper))
    {
        decoder = new OptDecoder(config, generator);
        RegisterComponents();
    }
}

/// <summary>HF's <c>OPTDecoder</c>.</summary>
public sealed class OptDecoder : nn.Module
{
    private readonly Embedding embed_tokens;
    private readonly Embedding embed_positions;
    private readonly Linear? project_in;
    private readonly Linear? project_out;
    private readonly LayerNorm? final_layer_norm;
    private readonly ModuleList<OptDecoderLayer> layers;

    public OptDecoder(OptConfig config, Generator generator)
        : base(nameof(OptDecoder))
    {
        if (config.HiddenSize % config.Heads != 0)
        {
            throw new ArgumentException($"{config.Heads} heads must divide the OPT width {config.HiddenSize}", nameof(config));
        }

        embed_tokens = nn.Embedding(config.VocabSize, config.WordEmbedWidth);
        embed_positions = nn.Embedding(config.MaxPositionEmbeddings + OptConfig.PositionOffset, config.HiddenSize);
        BlipInit.Normal(embed_tokens, 0.02, generator);
        BlipInit.Normal(embed_positions, 0.02, generator);
        if (config.Projects)
        {
            project_in = nn.Linear(config.WordEmbedWidth, config.HiddenSize, hasBias: false);
            project_out = nn.Linear(config.HiddenSize, config.WordEmbedWidth, hasBias: false);
            BlipInit.Normal(project_in, 0.02, generator);
            BlipInit.Normal(project_out, 0.02, generator);
        }

        if (config.LayerNormBefore)
        {
            final_layer_norm = nn.LayerNorm(config.HiddenSize);
        }

        layers = new ModuleList<OptDecoderLayer>([.. Enumerable.Range(0, config.Layers).Select(_ => new OptDecoderLayer(config, generator))]);
        RegisterComponents();
    }

    internal Tensor EmbedTokens => embed_tokens.weight!;

    internal Tensor Embed(Tensor ids) => embed_tokens.call(ids);

    /// <summary>The last hidden states (B, T, word width) of <paramref name="inputsEmbeds"/> after the cached tokens.</summary>
    public Tensor Forward(Tensor inputsEmbeds, Tensor attentionMask, IReadOnlyList<LayerKeyValues>? cache)
    {
        using var scope = NewDisposeScope();
        var length = inputsEmbeds.shape[1];
        var total = attentionMask.shape[1];
        // HF: positions = cumsum(mask) * mask - 1, so the first real token is position 0 whatever padding precedes it.
        var positions = attentionMask.to_type(ScalarType.Int64).cumsum(1).mul(attentionMask.to_type(ScalarType.Int64)).sub(1)
            .narrow(1, total - length, length).add(OptConfig.PositionOffset).clamp_min(0);               // (B, T)
        var x = project_in is null ? inputsEmbeds : project_in.call(inputsEmbeds);
        x = x.Plus(embed_positions.call(positions));                                                     // (B, T, D)
        var mask = AttentionMasks.Causal(attentionMask, length, x.dtype);                                 // (B, 1, T, past + T)
        for (var layer = 0; layer < layers.Count; layer++)
        {
            x = layers[layer].Forward(x, mask, cache?[layer]);
        }

        if (final_layer_norm is not null)
        {
            x = final_layer_norm.call(x);
        }

        return (project_out is null ? x : project_out.call(x)).MoveToOuterDisposeScope();
    }
}

/// <summary>HF's <c>OPTDecoderLayer</c>: self-attention and a ReLU feed-forward, each around a residual, LayerNorm before or after.</summary>
public sealed class OptDecoderLayer : nn.Module
{
    private readonly OptAttention self_attn;
    private readonly LayerNorm self_attn_layer_norm;
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly LayerNorm final_layer_norm;
    private readonly bool _before;

    public OptDecoderLayer(OptConfig config, Generator generator)
        : base(nameof(OptDecoderLayer))
    {
        _before = config.LayerNormBefore;
        self_attn = new OptAttention(config, generator);
        self_attn_layer_norm = nn.LayerNorm(config.HiddenSize);
        fc1 = nn.Linear(config.HiddenSize, config.FfnDim);
        fc2 = nn.Linear(config.FfnDim, config.HiddenSize);
        BlipInit.Normal(fc1, 0.02, generator);
        BlipInit.Normal(fc2, 0.02, generator);
        final_layer_norm = nn.LayerNorm(config.HiddenSize);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor mask, LayerKeyValues? cache)
    {
        using var scope = NewDisposeScope();
        var attended = x.Plus(self_attn.Forward(_before ? self_attn_layer_norm.call(x) : x, mask, cache));
        x = _before ? attended : self_attn_layer_norm.call(attended);
        var fed = x.Plus(fc2.call(nn.functional.relu(fc1.call(_before ? final_layer_norm.call(x) : x))));
        return (_before ? fed : final_layer_norm.call(fed)).MoveToOuterDisposeScope();
    }
}

/// <summary>HF's <c>OPTAttention</c>: q, k, v and out projections with biases; q scaled by head_dim^-0.5.</summary>
public sealed class OptAttention : nn.Module
{
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear q_proj;
    private readonly Linear out_proj;
    private readonly long _heads;

    public OptAttention(OptConfig config, Generator generator)
        : base(nameof(OptAttention))
    {
        _heads = config.Heads;
        k_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        v_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        q_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        out_proj = nn.Linear(config.HiddenSize, config.HiddenSize);
        foreach (var linear in new[] { k_proj, v_proj, q_proj, out_proj })
        {
            BlipInit.Normal(linear, 0.02, generator);
        }

        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor mask, LayerKeyValues? cache)
    {
        using var scope = NewDisposeScope();
        var (batch, length, width) = (x.shape[0], x.shape[1], x.shape[2]);
        Tensor Heads(Tensor t) => t.reshape(batch, length, _heads, width / _heads).transpose(1, 2); // (B, heads, T, head_dim)
        var (keys, values) = (Heads(k_proj.call(x)), Heads(v_proj.call(x)));
        if (cache is not null)
        {
            (keys, values) = cache.Append(keys, values);                                            // (B, heads, past + T, head_dim)
        }

        var scores = Heads(q_proj.call(x)).mul(Math.Pow(width / _heads, -0.5)).matmul(keys.transpose(2, 3)).Plus(mask);
        var attended = scores.softmax(-1).matmul(values).transpose(1, 2).reshape(batch, length, width);
        return out_proj.call(attended).MoveToOuterDisposeScope();
    }
}
