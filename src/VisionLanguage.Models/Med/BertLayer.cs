using TorchSharp.Modules;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Med;

/// <summary>
/// One MED layer (LAVIS <c>BertLayer</c>): self-attention, then cross-attention into the image embeddings when they are
/// given (image-grounded modes), then the feed-forward network. A decoder layer is built from an encoder layer and shares
/// its cross-attention and feed-forward modules (the very same parameters); only its self-attention is its own.
/// </summary>
public sealed class BertLayer : nn.Module<Tensor, Tensor, Tensor?, Tensor>
{
    private readonly BertAttention attention;
    private readonly BertAttention crossattention;
    private readonly BertIntermediate intermediate;
    private readonly BertOutput output;

    /// <summary>An encoder layer with parameters of its own.</summary>
    public BertLayer(MedConfig config, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(BertLayer))
    {
        attention = new BertAttention(config, isCrossAttention: false, initGenerator, dropoutGenerator);
        crossattention = new BertAttention(config, isCrossAttention: true, initGenerator, dropoutGenerator);
        intermediate = new BertIntermediate(config, initGenerator);
        output = new BertOutput(config, initGenerator, dropoutGenerator);
        RegisterComponents();
    }

    /// <summary>A decoder layer: its own (causal) self-attention; cross-attention and FFN shared with <paramref name="encoderLayer"/>.</summary>
    public BertLayer(BertLayer encoderLayer, MedConfig config, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(BertLayer))
    {
        attention = new BertAttention(config, isCrossAttention: false, initGenerator, dropoutGenerator);
        crossattention = encoderLayer.crossattention;
        intermediate = encoderLayer.intermediate;
        output = encoderLayer.output;
        RegisterComponents();
    }

    /// <summary>Hidden states (B, L, D), the additive self-attention mask (B, 1, 1 or L, L), image embeddings (B, S, Dv) or null.</summary>
    public override Tensor forward(Tensor hidden_states, Tensor attention_mask, Tensor? encoder_hidden_states) =>
        Forward(hidden_states, attention_mask, encoder_hidden_states, null);

    /// <summary>
    /// As <see cref="forward"/>, with an additive cross-attention mask (B, 1, 1, S) over the source tokens, or null to
    /// attend to all of them: BLIP attends to every image token (image_atts are all ones), a VQA answer decoder only to
    /// the question's real tokens.
    /// </summary>
    public Tensor Forward(Tensor hidden_states, Tensor attention_mask, Tensor? encoder_hidden_states, Tensor? encoder_attention_mask)
    {
        using var scope = NewDisposeScope();
        var x = attention.call(hidden_states, attention_mask, null);
        if (encoder_hidden_states is not null)
        {
            x = crossattention.call(x, encoder_attention_mask, encoder_hidden_states);
        }

        return output.call(intermediate.call(x), x).MoveToOuterDisposeScope();
    }

    /// <summary>Incremental decoding: new tokens (rows, T, D) through cached self- and cross-attention, then the FFN.</summary>
    public Tensor ForwardCached(Tensor hidden_states, Tensor encoder_hidden_states, LayerKeyValues cache, Tensor? encoder_attention_mask = null)
    {
        using var scope = NewDisposeScope();
        var x = attention.ForwardCached(hidden_states, null, cache);
        x = crossattention.ForwardCached(x, encoder_hidden_states, cache, encoder_attention_mask);
        return output.call(intermediate.call(x), x).MoveToOuterDisposeScope();
    }
}

/// <summary>The FFN's expansion with exact GELU (LAVIS <c>BertIntermediate</c>).</summary>
public sealed class BertIntermediate : nn.Module<Tensor, Tensor>
{
    private readonly Linear dense;

    public BertIntermediate(MedConfig config, Generator initGenerator)
        : base(nameof(BertIntermediate))
    {
        dense = nn.Linear(config.HiddenSize, config.IntermediateSize);
        BlipInit.Normal(dense, config.InitializerRange, initGenerator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states)
    {
        using var scope = NewDisposeScope();
        return nn.functional.gelu(dense.call(hidden_states)).MoveToOuterDisposeScope();
    }
}

/// <summary>The FFN's projection back, dropout and post-norm residual (LAVIS <c>BertOutput</c>).</summary>
public sealed class BertOutput : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly SeededDropout dropout;

    public BertOutput(MedConfig config, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(BertOutput))
    {
        dense = nn.Linear(config.IntermediateSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = new SeededDropout(config.HiddenDropout, dropoutGenerator);
        BlipInit.Normal(dense, config.InitializerRange, initGenerator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states, Tensor input_tensor)
    {
        using var scope = NewDisposeScope();
        return LayerNorm.call(dropout.call(dense.call(hidden_states)).Plus(input_tensor)).MoveToOuterDisposeScope();
    }
}
