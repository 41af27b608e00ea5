using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Trainer.Worker.Blip.Med;

/// <summary>
/// Attention with its residual output (LAVIS <c>BertAttention</c>): self-attention when no image embeddings are given,
/// cross-attention into them otherwise. Arguments: hidden states (B, L, D), an additive mask broadcastable to
/// (B, heads, L, S) or null, and the image embeddings (B, S, encoder_width) or null.
/// </summary>
public sealed class BertAttention : nn.Module<Tensor, Tensor?, Tensor?, Tensor>
{
    private readonly BertSelfAttention self;
    private readonly BertSelfOutput output;

    public BertAttention(MedConfig config, bool isCrossAttention, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(BertAttention))
    {
        self = new BertSelfAttention(config, isCrossAttention, initGenerator, dropoutGenerator);
        output = new BertSelfOutput(config, initGenerator, dropoutGenerator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states, Tensor? attention_mask, Tensor? encoder_hidden_states)
    {
        using var scope = NewDisposeScope();
        var context = self.call(hidden_states, attention_mask, encoder_hidden_states);
        return output.call(context, hidden_states).MoveToOuterDisposeScope();
    }
}

/// <summary>Scaled dot-product attention over query, key and value projections (LAVIS <c>BertSelfAttention</c>).</summary>
public sealed class BertSelfAttention : nn.Module<Tensor, Tensor?, Tensor?, Tensor>
{
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly SeededDropout dropout;
    private readonly long _heads;
    private readonly long _headSize;

    public BertSelfAttention(MedConfig config, bool isCrossAttention, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(BertSelfAttention))
    {
        if (config.HiddenSize % config.Heads != 0)
        {
            throw new ArgumentException($"{config.Heads} text heads must divide text width {config.HiddenSize}", nameof(config));
        }

        _heads = config.Heads;
        _headSize = config.HiddenSize / config.Heads;
        var sourceWidth = isCrossAttention ? config.EncoderWidth : config.HiddenSize;
        query = nn.Linear(config.HiddenSize, config.HiddenSize);
        key = nn.Linear(sourceWidth, config.HiddenSize);
        value = nn.Linear(sourceWidth, config.HiddenSize);
        dropout = new SeededDropout(config.AttentionDropout, dropoutGenerator);
        BlipInit.Normal(query, config.InitializerRange, initGenerator);
        BlipInit.Normal(key, config.InitializerRange, initGenerator);
        BlipInit.Normal(value, config.InitializerRange, initGenerator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states, Tensor? attention_mask, Tensor? encoder_hidden_states)
    {
        using var scope = NewDisposeScope();
        var source = encoder_hidden_states ?? hidden_states;
        var q = SplitHeads(query.call(hidden_states));                       // (B, heads, L, head_dim)
        var k = SplitHeads(key.call(source));                                // (B, heads, S, head_dim)
        var v = SplitHeads(value.call(source));                              // (B, heads, S, head_dim)
        var scores = q.matmul(k.transpose(-1, -2)) / Math.Sqrt(_headSize);  // (B, heads, L, S)
        if (attention_mask is not null)
        {
            scores = scores + attention_mask;
        }

        var probabilities = dropout.call(scores.softmax(-1));
        var context = probabilities.matmul(v)                                // (B, heads, L, head_dim)
            .permute(0, 2, 1, 3)                                             // (B, L, heads, head_dim)
            .reshape(hidden_states.shape[0], hidden_states.shape[1], _heads * _headSize); // (B, L, D)
        return context.MoveToOuterDisposeScope();
    }

    private Tensor SplitHeads(Tensor x) =>
        x.view(x.shape[0], x.shape[1], _heads, _headSize) // (B, T, heads, head_dim)
            .permute(0, 2, 1, 3);                         // (B, heads, T, head_dim)
}

/// <summary>Projection, dropout and post-norm residual after attention (LAVIS <c>BertSelfOutput</c>).</summary>
public sealed class BertSelfOutput : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly SeededDropout dropout;

    public BertSelfOutput(MedConfig config, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(BertSelfOutput))
    {
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = new SeededDropout(config.HiddenDropout, dropoutGenerator);
        BlipInit.Normal(dense, config.InitializerRange, initGenerator);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states, Tensor input_tensor)
    {
        using var scope = NewDisposeScope();
        return LayerNorm.call(dropout.call(dense.call(hidden_states)) + input_tensor).MoveToOuterDisposeScope();
    }
}
