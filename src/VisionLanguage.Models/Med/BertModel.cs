using TorchSharp.Modules;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Med;

/// <summary>
/// The MED text transformer (LAVIS <c>BertModel</c> without pooler; <c>text_encoder</c>, and <c>text_decoder.bert</c>).
/// Its three modes: unimodal text encoder (no image embeddings; ITC), image-grounded encoder (image embeddings, first
/// token [ENC]; ITM) and, for an instance built as a decoder, image-grounded causal decoder (first token [DEC]; LM).
/// Arguments: token ids (B, L), attention mask (B, L) of ones and zeros, image embeddings (B, S, Dv) or null.
/// </summary>
public sealed class BertModel : nn.Module<Tensor, Tensor, Tensor?, Tensor>
{
    private readonly BertEmbeddings embeddings;
    private readonly BertEncoder encoder;
    private readonly bool _isDecoder;

    /// <summary>An encoder with parameters of its own.</summary>
    public BertModel(MedConfig config, Generator initGenerator, Generator dropoutGenerator)
        : this(config, initGenerator, dropoutGenerator, isDecoder: false)
    {
    }

    private BertModel(MedConfig config, Generator initGenerator, Generator dropoutGenerator, bool isDecoder)
        : base(nameof(BertModel))
    {
        _isDecoder = isDecoder;
        embeddings = new BertEmbeddings(config, initGenerator, dropoutGenerator);
        encoder = new BertEncoder(config, initGenerator, dropoutGenerator);
        RegisterComponents();
    }

    /// <summary>
    /// A causal decoder sharing everything but its self-attention layers with <paramref name="shareWith"/>: the
    /// embeddings, every cross-attention and every feed-forward network are the encoder's own modules.
    /// </summary>
    public BertModel(BertModel shareWith, MedConfig config, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(BertModel))
    {
        _isDecoder = true;
        embeddings = shareWith.embeddings;
        encoder = new BertEncoder(shareWith.encoder, config, initGenerator, dropoutGenerator);
        RegisterComponents();
    }

    /// <summary>
    /// A causal decoder with every parameter of its own (LAVIS <c>BertLMHeadModel(config)</c> built alone, as BLIP's VQA
    /// answer decoder is): nothing is shared with an encoder.
    /// </summary>
    public static BertModel IndependentDecoder(MedConfig config, Generator initGenerator, Generator dropoutGenerator) =>
        new(config, initGenerator, dropoutGenerator, isDecoder: true);

    /// <summary>Layers in the stack: the key/value cache holds one entry per layer.</summary>
    public int Depth => encoder.Depth;

    /// <summary>The (shared) word embeddings, which the LM head ties its output weights to.</summary>
    public Parameter WordEmbeddings => embeddings.WordEmbeddings;

    /// <summary>Last hidden states (B, L, D).</summary>
    public override Tensor forward(Tensor input_ids, Tensor attention_mask, Tensor? encoder_hidden_states) =>
        Forward(input_ids, attention_mask, encoder_hidden_states, null);

    /// <summary>
    /// Last hidden states (B, L, D), cross-attending only to the source tokens where <paramref name="encoder_attention_mask"/>
    /// (B, S) of ones and zeros is 1 (LAVIS's <c>encoder_attention_mask</c>); null attends to every source token.
    /// </summary>
    public Tensor Forward(Tensor input_ids, Tensor attention_mask, Tensor? encoder_hidden_states, Tensor? encoder_attention_mask)
    {
        using var scope = NewDisposeScope();
        var hidden = embeddings.call(input_ids);                                   // (B, L, D)
        var mask = ExtendedAttentionMask(attention_mask, _isDecoder, hidden.dtype); // (B, 1, 1 or L, L)
        var sourceMask = encoder_attention_mask is null ? null : ExtendedAttentionMask(encoder_attention_mask, causal: false, hidden.dtype); // (B, 1, 1, S)
        return encoder.Forward(hidden, mask, encoder_hidden_states, sourceMask).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Incremental decoding (a decoder only): the last hidden states (rows, T, D) of <paramref name="input_ids"/>
    /// (rows, T), the tokens after the <see cref="DecoderKeyValueCache.Length"/> already in <paramref name="cache"/>;
    /// image embeddings (images, S, Dv) are read on the first step only.
    /// </summary>
    /// <param name="input_ids">The new tokens (rows, T).</param>
    /// <param name="encoder_hidden_states">Source tokens (images, S, Ds), one entry per image, not per row.</param>
    /// <param name="cache">The keys and values so far.</param>
    /// <param name="encoder_attention_mask">Source mask (images, S) of ones and zeros, or null to attend to every source token.</param>
    public Tensor ForwardCached(Tensor input_ids, Tensor encoder_hidden_states, DecoderKeyValueCache cache, Tensor? encoder_attention_mask = null)
    {
        if (!_isDecoder)
        {
            throw new InvalidOperationException("only the causal decoder decodes incrementally; the encoder attends both ways");
        }

        using var scope = NewDisposeScope();
        var hidden = embeddings.Embed(input_ids, cache.Length);                  // (rows, T, D)
        var sourceMask = encoder_attention_mask is null ? null : ExtendedAttentionMask(encoder_attention_mask, causal: false, hidden.dtype); // (images, 1, 1, S)
        hidden = encoder.ForwardCached(hidden, encoder_hidden_states, cache, sourceMask);
        cache.Advance(input_ids.shape[1]);
        return hidden.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// HuggingFace's <c>get_extended_attention_mask</c>: 0 where a token may attend, −10000 where it may not (padding,
    /// and for a decoder every later position).
    /// </summary>
    public static Tensor ExtendedAttentionMask(Tensor attentionMask, bool causal, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var length = attentionMask.shape[1];
        var allowed = attentionMask.to_type(dtype).unsqueeze(1).unsqueeze(1);    // (B, 1, 1, L)
        if (causal)
        {
            var lowerTriangle = ones(length, length, dtype: dtype, device: attentionMask.device).tril(); // (L, L)
            allowed = lowerTriangle.unsqueeze(0).unsqueeze(0) * allowed;       // (B, 1, L, L)
        }

        // (1 − allowed) · −10000, with scalars that are never freed (see RootedScalars).
        return allowed.neg().Plus(RootedScalars.One).mul_(RootedScalars.Blocked).MoveToOuterDisposeScope();
    }
}

/// <summary>The stack of layers (LAVIS <c>BertEncoder</c>), named <c>encoder.layer.N</c> in checkpoints.</summary>
public sealed class BertEncoder : nn.Module<Tensor, Tensor, Tensor?, Tensor>
{
    private readonly ModuleList<BertLayer> layer;

    public BertEncoder(MedConfig config, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(BertEncoder))
    {
        layer = new ModuleList<BertLayer>([.. Enumerable.Range(0, config.Layers).Select(_ => new BertLayer(config, initGenerator, dropoutGenerator))]);
        RegisterComponents();
    }

    public BertEncoder(BertEncoder shareWith, MedConfig config, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(BertEncoder))
    {
        layer = new ModuleList<BertLayer>([.. shareWith.layer.Select(encoderLayer => new BertLayer(encoderLayer, config, initGenerator, dropoutGenerator))]);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states, Tensor attention_mask, Tensor? encoder_hidden_states) =>
        Forward(hidden_states, attention_mask, encoder_hidden_states, null);

    /// <summary>Every layer, with an additive cross-attention mask (B, 1, 1, S), or null to attend to every source token.</summary>
    public Tensor Forward(Tensor hidden_states, Tensor attention_mask, Tensor? encoder_hidden_states, Tensor? encoder_attention_mask)
    {
        using var scope = NewDisposeScope();
        var x = hidden_states;
        foreach (var block in layer)
        {
            x = encoder_attention_mask is null ? block.call(x, attention_mask, encoder_hidden_states) : block.Forward(x, attention_mask, encoder_hidden_states, encoder_attention_mask);
        }

        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Incremental decoding through every layer, each with its own part of <paramref name="cache"/>.</summary>
    public Tensor ForwardCached(Tensor hidden_states, Tensor encoder_hidden_states, DecoderKeyValueCache cache, Tensor? encoder_attention_mask = null)
    {
        using var scope = NewDisposeScope();
        var x = hidden_states;
        for (var index = 0; index < layer.Count; index++)
        {
            x = layer[index].ForwardCached(x, encoder_hidden_states, cache.Layer(index), encoder_attention_mask);
        }

        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Layers in the stack.</summary>
    public int Depth => layer.Count;
}
