using TorchSharp.Modules;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Med;

/// <summary>
/// The image-grounded text encoder of BLIP's NLVR2 model (BLIP <c>models/nlvr_encoder.py::BertModel</c>, LAVIS
/// <c>nlvr_encoder.py</c>): the MED encoder with, in every layer, two cross-attentions, one into each image, whose outputs
/// are merged (<see cref="TwinSelfOutput"/>). Its first token is [ENC]; its output at position 0 feeds the classifier.
/// Arguments: token ids (B, L), attention mask (B, L), the left and the right image's tokens (B, S, Dv) each.
/// </summary>
public sealed class NlvrBertModel : nn.Module<Tensor, Tensor, Tensor, Tensor, Tensor>
{
    private readonly BertEmbeddings embeddings;
    private readonly NlvrBertEncoder encoder;

    public NlvrBertModel(MedConfig config, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(NlvrBertModel))
    {
        embeddings = new BertEmbeddings(config, initGenerator, dropoutGenerator);
        encoder = new NlvrBertEncoder(config, initGenerator, dropoutGenerator);
        RegisterComponents();
    }

    /// <summary>Layers in the stack.</summary>
    public int Depth => encoder.Depth;

    /// <summary>Last hidden states (B, L, D).</summary>
    public override Tensor forward(Tensor input_ids, Tensor attention_mask, Tensor image0_embeds, Tensor image1_embeds)
    {
        using var scope = NewDisposeScope();
        var hidden = embeddings.call(input_ids);                                              // (B, L, D)
        var mask = BertModel.ExtendedAttentionMask(attention_mask, causal: false, hidden.dtype); // (B, 1, 1, L)
        return encoder.call(hidden, mask, image0_embeds, image1_embeds).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The first layer whose cross-attention outputs are concatenated and projected rather than averaged: the second
    /// half of the stack (BLIP: <c>layer_num &gt;= 6</c> of 12, "average pooling in the first 6 layers, concatenation
    /// followed by a linear projection in layers 6–12"); for an odd depth the middle layer averages.
    /// </summary>
    public static int FirstMergeLayer(int layers) => (layers + 1) / 2;
}

/// <summary>The stack of NLVR2 layers (<c>encoder.layer.N</c>).</summary>
public sealed class NlvrBertEncoder : nn.Module<Tensor, Tensor, Tensor, Tensor, Tensor>
{
    private readonly ModuleList<NlvrBertLayer> layer;

    public NlvrBertEncoder(MedConfig config, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(NlvrBertEncoder))
    {
        var firstMerge = NlvrBertModel.FirstMergeLayer(config.Layers);
        layer = new ModuleList<NlvrBertLayer>([.. Enumerable.Range(0, config.Layers)
            .Select(index => new NlvrBertLayer(config, merge: index >= firstMerge, initGenerator, dropoutGenerator))]);
        RegisterComponents();
    }

    public int Depth => layer.Count;

    /// <summary>The layer at <paramref name="index"/>, for inspection.</summary>
    public NlvrBertLayer this[int index] => layer[index];

    public override Tensor forward(Tensor hidden_states, Tensor attention_mask, Tensor image0_embeds, Tensor image1_embeds)
    {
        using var scope = NewDisposeScope();
        var x = hidden_states;
        foreach (var block in layer)
        {
            x = block.call(x, attention_mask, image0_embeds, image1_embeds);
        }

        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// One NLVR2 layer (BLIP <c>nlvr_encoder.py::BertLayer</c>): self-attention, the twin cross-attention into both images,
/// then the feed-forward network.
/// </summary>
public sealed class NlvrBertLayer : nn.Module<Tensor, Tensor, Tensor, Tensor, Tensor>
{
    private readonly BertAttention attention;
    private readonly TwinCrossAttention crossattention;
    private readonly BertIntermediate intermediate;
    private readonly BertOutput output;

    public NlvrBertLayer(MedConfig config, bool merge, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(NlvrBertLayer))
    {
        attention = new BertAttention(config, isCrossAttention: false, initGenerator, dropoutGenerator);
        crossattention = new TwinCrossAttention(config, merge, initGenerator, dropoutGenerator);
        intermediate = new BertIntermediate(config, initGenerator);
        output = new BertOutput(config, initGenerator, dropoutGenerator);
        RegisterComponents();
    }

    /// <summary>The layer's twin cross-attention, for inspection.</summary>
    public TwinCrossAttention CrossAttention => crossattention;

    public override Tensor forward(Tensor hidden_states, Tensor attention_mask, Tensor image0_embeds, Tensor image1_embeds)
    {
        using var scope = NewDisposeScope();
        var x = attention.call(hidden_states, attention_mask, null);
        x = crossattention.call(x, image0_embeds, image1_embeds);
        return output.call(intermediate.call(x), x).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Two cross-attentions of one layer (BLIP <c>BertAttention(is_cross_attention=True)</c> of <c>nlvr_encoder.py</c>):
/// <c>self0</c> reads the left image, <c>self1</c> the right one, each a full query/key/value attention; their contexts
/// go through <see cref="TwinSelfOutput"/>. BLIP attends to every image token, so no mask.
/// </summary>
public sealed class TwinCrossAttention : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly BertSelfAttention self0;
    private readonly BertSelfAttention self1;
    private readonly TwinSelfOutput output;

    public TwinCrossAttention(MedConfig config, bool merge, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(TwinCrossAttention))
    {
        self0 = new BertSelfAttention(config, isCrossAttention: true, initGenerator, dropoutGenerator);
        self1 = new BertSelfAttention(config, isCrossAttention: true, initGenerator, dropoutGenerator);
        output = new TwinSelfOutput(config, merge, initGenerator, dropoutGenerator);
        RegisterComponents();
    }

    /// <summary>Whether the two outputs are concatenated and projected (second half of the stack) rather than averaged.</summary>
    public bool Merges => output.Merges;

    /// <summary>Hidden states (B, L, D), the left and the right image's tokens (B, S, Dv); returns (B, L, D).</summary>
    public override Tensor forward(Tensor hidden_states, Tensor image0_embeds, Tensor image1_embeds)
    {
        using var scope = NewDisposeScope();
        var context0 = self0.call(hidden_states, null, image0_embeds);   // (B, L, D)
        var context1 = self1.call(hidden_states, null, image1_embeds);   // (B, L, D)
        return output.call(context0, context1, hidden_states).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The merge after the twin cross-attention (BLIP <c>BertSelfOutput(twin=True, merge=layer_num &gt;= 6)</c>):
/// <c>h0 = dense0(context0)</c>, <c>h1 = dense1(context1)</c>; in the first half of the layers <c>(h0 + h1) / 2</c>, in the
/// second half <c>merge_layer(cat([h0, h1], -1))</c> (2D → D, no activation: BLIP comments it out); then dropout and
/// the post-norm residual <c>LayerNorm(h + input)</c>.
/// </summary>
public sealed class TwinSelfOutput : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Linear dense0;
    private readonly Linear dense1;
    private readonly Linear? merge_layer;
    private readonly LayerNorm LayerNorm;
    private readonly SeededDropout dropout;

    public TwinSelfOutput(MedConfig config, bool merge, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(TwinSelfOutput))
    {
        dense0 = nn.Linear(config.HiddenSize, config.HiddenSize);
        dense1 = nn.Linear(config.HiddenSize, config.HiddenSize);
        BlipInit.Normal(dense0, config.InitializerRange, initGenerator);
        BlipInit.Normal(dense1, config.InitializerRange, initGenerator);
        if (merge)
        {
            merge_layer = nn.Linear(2 * config.HiddenSize, config.HiddenSize);
            BlipInit.Normal(merge_layer, config.InitializerRange, initGenerator);
        }

        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = new SeededDropout(config.HiddenDropout, dropoutGenerator);
        RegisterComponents();
    }

    public bool Merges => merge_layer is not null;

    public override Tensor forward(Tensor context0, Tensor context1, Tensor input_tensor)
    {
        using var scope = NewDisposeScope();
        var h0 = dense0.call(context0);                                          // (B, L, D)
        var h1 = dense1.call(context1);                                          // (B, L, D)
        var merged = merge_layer is null
            ? h0.Plus(h1).div(RootedScalars.Two)                                 // (B, L, D)
            : merge_layer.call(cat([h0, h1], dim: -1));                          // (B, L, 2D) → (B, L, D)
        return LayerNorm.call(dropout.call(merged).Plus(input_tensor)).MoveToOuterDisposeScope();
    }
}
