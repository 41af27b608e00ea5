using TorchSharp;
using TorchSharp.Modules;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Llm;

/// <summary>
/// HF's <c>T5ForConditionalGeneration</c> in its parameter names (reference §6.2): one word embedding
/// (<c>shared</c>) for both stacks, pre-RMSNorm blocks with unscaled attention and a relative position bias that each
/// stack's block 0 holds and all its blocks add, a ReLU or gated GELU feed-forward, and an <c>lm_head</c> of its own
/// (T5 v1.1, Flan-T5) or, with <c>tie_word_embeddings</c>, <c>shared</c> after scaling the decoder's output by
/// d_model^-0.5. HF's stacks also name the embedding (<c>encoder.embed_tokens</c>, <c>decoder.embed_tokens</c>); here only
/// the model holds it, so it is saved once. The encoder takes embeddings, so BLIP-2's soft visual prompt goes in front
/// of the text. Dropout is left out: the model is frozen in BLIP-2.
/// </summary>
public sealed class T5ForConditionalGeneration : nn.Module
{
    private readonly Embedding shared;
    private readonly T5Stack encoder;
    private readonly T5Stack decoder;
    private readonly Linear? lm_head;

    public T5ForConditionalGeneration(T5Config config, Generator generator)
        : base(nameof(T5ForConditionalGeneration))
    {
        Config = config;
        shared = nn.Embedding(config.VocabSize, config.HiddenSize);
        // HF's _init_weights (Mesh TensorFlow's): unit-variance embeddings and head.
        BlipInit.Normal(shared, 1.0, generator);
        encoder = new T5Stack(config, isDecoder: false, generator);
        decoder = new T5Stack(config, isDecoder: true, generator);
        if (!config.TieWordEmbeddings)
        {
            lm_head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false);
            BlipInit.Normal(lm_head, 1.0, generator);
        }

        RegisterComponents();
    }

    public T5Config Config { get; }

    /// <summary>The word embeddings (vocab, d_model) both stacks read; with tied embeddings, the head's weight too.</summary>
    public Tensor Shared => shared.weight!;

    /// <summary>Word embeddings of <paramref name="ids"/> (B, T) → (B, T, d_model), what a soft prompt is placed beside.</summary>
    public Tensor Embed(Tensor ids) => shared.call(ids);

    /// <summary>The encoder's last hidden states (B, S, d_model) of <paramref name="inputsEmbeds"/>; <paramref name="attentionMask"/> (B, S) is 1 on tokens, 0 on padding.</summary>
    public Tensor Encode(Tensor inputsEmbeds, Tensor attentionMask) => encoder.Encode(inputsEmbeds, attentionMask);

    /// <summary>
    /// Logits (B, T, vocab) of <paramref name="decoderInputIds"/> (B, T), which start from
    /// <see cref="T5Config.DecoderStartTokenId"/>, attending to <paramref name="encoderHidden"/> (B, S, d_model) where
    /// <paramref name="encoderMask"/> (B, S) is 1. <paramref name="decoderAttentionMask"/> (B, past + T; all ones when
    /// null) covers the cached tokens too; <paramref name="cache"/> (<see cref="NewCache"/>) holds their self-attention
    /// keys and values and takes the new ones, and keeps the encoder's keys and values from its first call.
    /// </summary>
    public Tensor Decode(Tensor decoderInputIds, Tensor? decoderAttentionMask, Tensor encoderHidden, Tensor encoderMask, IReadOnlyList<LayerKeyValues>? cache = null)
    {
        using var scope = NewDisposeScope();
        var hidden = decoder.Decode(Embed(decoderInputIds), decoderAttentionMask, encoderHidden, encoderMask, cache);  // (B, T, d_model)
        if (lm_head is not null)
        {
            return lm_head.call(hidden).MoveToOuterDisposeScope();
        }

        // HF (after Mesh TensorFlow): a head tied to the embeddings sees the output scaled by d_model^-0.5.
        using var scale = Math.Pow(Config.HiddenSize, -0.5).ToScalar();
        return nn.functional.linear(hidden.mul(scale), Shared).MoveToOuterDisposeScope();
    }

    /// <summary>Logits (B, T, vocab) of a whole pass: encode <paramref name="inputsEmbeds"/>, decode <paramref name="decoderInputIds"/>.</summary>
    public Tensor Forward(Tensor inputsEmbeds, Tensor attentionMask, Tensor decoderInputIds, Tensor? decoderAttentionMask = null)
    {
        using var scope = NewDisposeScope();
        var encoded = Encode(inputsEmbeds, attentionMask);
        return Decode(decoderInputIds, decoderAttentionMask, encoded, attentionMask).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// HF's <c>_shift_right</c>: the decoder inputs for <paramref name="labels"/> (B, T), the start token then the labels
    /// but the last, with ignored labels (−100) as padding.
    /// </summary>
    public Tensor ShiftRight(Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var start = Config.DecoderStartTokenId.ToScalar();
        using var pad = Config.PadTokenId.ToScalar();
        var shifted = cat([full(labels.shape[0], 1, start, labels.dtype, labels.device), labels.narrow(1, 0, labels.shape[1] - 1)], dim: 1);
        return shifted.masked_fill(shifted.eq(RootedScalars.IgnoredLabel), pad).MoveToOuterDisposeScope();
    }

    /// <summary>A cache for <see cref="Decode"/>: one entry per decoder block.</summary>
    public List<LayerKeyValues> NewCache() => [.. Enumerable.Range(0, Config.DecoderLayers).Select(_ => new LayerKeyValues())];
}

/// <summary>
/// HF's <c>T5Stack</c>, the encoder or the decoder: its blocks, block 0 holding the relative position bias table, and
/// <c>final_layer_norm</c>. The bias is computed once per pass, the mask added to it, and every block adds the sum.
/// </summary>
public sealed class T5Stack : nn.Module
{
    private readonly ModuleList<T5Block> block;
    private readonly T5LayerNorm final_layer_norm;

    public T5Stack(T5Config config, bool isDecoder, Generator generator)
        : base(nameof(T5Stack))
    {
        var depth = isDecoder ? config.DecoderLayers : config.Layers;
        block = new ModuleList<T5Block>([.. Enumerable.Range(0, depth).Select(i => new T5Block(config, isDecoder, hasRelativeAttentionBias: i == 0, generator))]);
        final_layer_norm = new T5LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    /// <summary>The encoder's pass: every token sees every other that is not padding, with bidirectional buckets.</summary>
    public Tensor Encode(Tensor inputsEmbeds, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var length = inputsEmbeds.shape[1];
        var bias = block[0].SelfAttention.PositionBias(0, length, length, inputsEmbeds.device)                        // (1, heads, S, S)
            .Plus(AttentionMasks.Padding(attentionMask, inputsEmbeds.dtype));                                         // (B, heads, S, S)
        var x = inputsEmbeds;
        foreach (var layer in block)
        {
            x = layer.Forward(x, bias);
        }

        return final_layer_norm.call(x).MoveToOuterDisposeScope();
    }

    /// <summary>The decoder's pass over the new tokens <paramref name="inputsEmbeds"/> (B, T, d_model) after the cached ones.</summary>
    public Tensor Decode(Tensor inputsEmbeds, Tensor? attentionMask, Tensor encoderHidden, Tensor encoderMask, IReadOnlyList<LayerKeyValues>? cache)
    {
        using var scope = NewDisposeScope();
        var (batch, length) = (inputsEmbeds.shape[0], inputsEmbeds.shape[1]);
        var past = cache?[0].CachedTokens ?? 0;
        var mask = attentionMask ?? ones(batch, past + length, ScalarType.Int64, inputsEmbeds.device);
        if (mask.shape[1] != past + length)
        {
            throw new ArgumentException($"the decoder attention mask covers {mask.shape[1]} tokens, but {past} are cached and {length} are new", nameof(attentionMask));
        }

        var selfBias = block[0].SelfAttention.PositionBias(past, length, past + length, inputsEmbeds.device)           // (1, heads, T, past + T)
            .Plus(AttentionMasks.Causal(mask, length, inputsEmbeds.dtype));                                           // (B, heads, T, past + T)
        var crossBias = AttentionMasks.Padding(encoderMask, inputsEmbeds.dtype);                                      // (B, 1, 1, S)
        var x = inputsEmbeds;
        for (var i = 0; i < block.Count; i++)
        {
            x = block[i].Forward(x, selfBias, encoderHidden, crossBias, cache?[i]);
        }

        return final_layer_norm.call(x).MoveToOuterDisposeScope();
    }
}
