using TorchSharp.Modules;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Med;

/// <summary>
/// The image-grounded text decoder (LAVIS <c>BertLMHeadModel</c>, the <c>text_decoder</c>): a causal <c>bert</c> that
/// shares all but its self-attention with the text encoder, and a <c>cls</c> head whose output weights are the shared
/// word embeddings (HuggingFace ties them) with a bias of its own. Arguments as <see cref="BertModel"/>; returns logits
/// (B, L, vocab).
/// </summary>
public sealed class BertLMHeadModel : nn.Module<Tensor, Tensor, Tensor?, Tensor>
{
    private readonly BertModel bert;
    private readonly BertOnlyMLMHead cls;

    public BertLMHeadModel(BertModel encoder, MedConfig config, Generator initGenerator, Generator dropoutGenerator)
        : this(new BertModel(encoder, config, initGenerator, dropoutGenerator), config, initGenerator)
    {
    }

    /// <summary>
    /// A decoder with every parameter of its own (BLIP's VQA answer decoder): its own embeddings, cross-attention,
    /// feed-forward networks and head. Its cross-attention reads <paramref name="config"/>'s <c>EncoderWidth</c>.
    /// </summary>
    public BertLMHeadModel(MedConfig config, Generator initGenerator, Generator dropoutGenerator)
        : this(BertModel.IndependentDecoder(config, initGenerator, dropoutGenerator), config, initGenerator)
    {
    }

    private BertLMHeadModel(BertModel bert, MedConfig config, Generator initGenerator)
        : base(nameof(BertLMHeadModel))
    {
        this.bert = bert;
        cls = new BertOnlyMLMHead(config, bert.WordEmbeddings, initGenerator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input_ids, Tensor attention_mask, Tensor? encoder_hidden_states) =>
        Forward(input_ids, attention_mask, encoder_hidden_states, null);

    /// <summary>Logits (B, L, vocab), cross-attending only where <paramref name="encoder_attention_mask"/> (B, S) is 1; null attends to every source token.</summary>
    public Tensor Forward(Tensor input_ids, Tensor attention_mask, Tensor? encoder_hidden_states, Tensor? encoder_attention_mask)
    {
        using var scope = NewDisposeScope();
        var hidden = bert.Forward(input_ids, attention_mask, encoder_hidden_states, encoder_attention_mask); // (B, L, D)
        return cls.call(hidden).MoveToOuterDisposeScope();                                                  // (B, L, vocab)
    }

    /// <summary>Layers of the decoder: one key/value cache entry each.</summary>
    public int Depth => bert.Depth;

    /// <summary>
    /// Incremental decoding: logits (rows, T, vocab) of the new tokens <paramref name="input_ids"/> (rows, T) given the
    /// tokens already in <paramref name="cache"/>; image embeddings (images, S, Dv), rows image-major.
    /// </summary>
    public Tensor ForwardCached(Tensor input_ids, Tensor encoder_hidden_states, DecoderKeyValueCache cache, Tensor? encoder_attention_mask = null)
    {
        using var scope = NewDisposeScope();
        var hidden = bert.ForwardCached(input_ids, encoder_hidden_states, cache, encoder_attention_mask); // (rows, T, D)
        return cls.call(hidden).MoveToOuterDisposeScope();                        // (rows, T, vocab)
    }
}

/// <summary>LAVIS <c>BertOnlyMLMHead</c>: the checkpoint level <c>cls.predictions</c>.</summary>
public sealed class BertOnlyMLMHead : nn.Module<Tensor, Tensor>
{
    private readonly BertLMPredictionHead predictions;

    public BertOnlyMLMHead(MedConfig config, Parameter wordEmbeddings, Generator initGenerator)
        : base(nameof(BertOnlyMLMHead))
    {
        predictions = new BertLMPredictionHead(config, wordEmbeddings, initGenerator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states) => predictions.call(hidden_states);
}

/// <summary>
/// Dense, GELU, LayerNorm, then the vocabulary projection (LAVIS <c>BertLMPredictionHead</c>). As in HuggingFace,
/// <c>decoder.weight</c> is the word-embedding parameter and <c>decoder.bias</c> is the head's own <c>bias</c>: one
/// parameter each, under two checkpoint names.
/// </summary>
public sealed class BertLMPredictionHead : nn.Module<Tensor, Tensor>
{
    private readonly BertPredictionHeadTransform transform;
    private readonly Linear decoder;
    private readonly Parameter bias;

    public BertLMPredictionHead(MedConfig config, Parameter wordEmbeddings, Generator initGenerator)
        : base(nameof(BertLMPredictionHead))
    {
        transform = new BertPredictionHeadTransform(config, initGenerator);
        bias = new Parameter(zeros(config.VocabSize, device: CPU));
        decoder = nn.Linear(wordEmbeddings, bias);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states)
    {
        using var scope = NewDisposeScope();
        return decoder.call(transform.call(hidden_states)).MoveToOuterDisposeScope();
    }
}

/// <summary>LAVIS <c>BertPredictionHeadTransform</c>: dense, exact GELU, LayerNorm.</summary>
public sealed class BertPredictionHeadTransform : nn.Module<Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;

    public BertPredictionHeadTransform(MedConfig config, Generator initGenerator)
        : base(nameof(BertPredictionHeadTransform))
    {
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        BlipInit.Normal(dense, config.InitializerRange, initGenerator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states)
    {
        using var scope = NewDisposeScope();
        return LayerNorm.call(nn.functional.gelu(dense.call(hidden_states))).MoveToOuterDisposeScope();
    }
}
