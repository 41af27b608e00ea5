using TorchSharp;
using TorchSharp.Modules;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Med;

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

    /// <summary>
    /// Incremental decoding: attention of the new tokens (rows, T, D) through <paramref name="cache"/> (see
    /// <see cref="BertSelfAttention.ForwardCached"/>), with the residual output.
    /// </summary>
    public Tensor ForwardCached(Tensor hidden_states, Tensor? encoder_hidden_states, LayerKeyValues cache, Tensor? encoder_attention_mask = null)
    {
        using var scope = NewDisposeScope();
        var context = self.ForwardCached(hidden_states, encoder_hidden_states, cache, encoder_attention_mask);
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

    /// <summary>√head_dim, held by the module for the life of the model (see <see cref="RootedScalars"/>).</summary>
    private readonly Scalar _scoreDivisor;
    private readonly bool _isCrossAttention;

    public BertSelfAttention(MedConfig config, bool isCrossAttention, Generator initGenerator, Generator dropoutGenerator)
        : base(nameof(BertSelfAttention))
    {
        if (config.HiddenSize % config.Heads != 0)
        {
            throw new ArgumentException($"{config.Heads} text heads must divide text width {config.HiddenSize}", nameof(config));
        }

        _heads = config.Heads;
        _headSize = config.HiddenSize / config.Heads;
        _scoreDivisor = Math.Sqrt(_headSize).ToScalar();
        _isCrossAttention = isCrossAttention;
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
        var scores = q.matmul(k.transpose(-1, -2)).div(_scoreDivisor);      // (B, heads, L, S)
        if (attention_mask is not null)
        {
            scores = scores.Plus(attention_mask);
        }

        var probabilities = dropout.call(scores.softmax(-1));
        var context = probabilities.matmul(v)                                // (B, heads, L, head_dim)
            .permute(0, 2, 1, 3)                                             // (B, L, heads, head_dim)
            .reshape(hidden_states.shape[0], hidden_states.shape[1], _heads * _headSize); // (B, L, D)
        return context.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Incremental decoding with a key/value cache. Self-attention: the new tokens (rows, T, D) attend to every cached
    /// token and causally to each other, and their keys and values join the cache. Cross-attention: the image's keys
    /// and values are computed from <paramref name="encoder_hidden_states"/> (images, S, Dv) on the first step only;
    /// the rows of one image (image-major) are attended together against its keys, which are never copied per row.
    /// <paramref name="encoder_attention_mask"/>, additive (images, 1, 1, S), blocks padded source tokens (a VQA answer
    /// decoder attends to the question's states, which are padded); null attends to every one (image tokens).
    /// </summary>
    public Tensor ForwardCached(Tensor hidden_states, Tensor? encoder_hidden_states, LayerKeyValues cache, Tensor? encoder_attention_mask = null)
    {
        using var scope = NewDisposeScope();
        var (rows, length) = (hidden_states.shape[0], hidden_states.shape[1]);
        var q = SplitHeads(query.call(hidden_states));                           // (rows, heads, T, head_dim)
        Tensor context;
        if (_isCrossAttention)
        {
            if (cache.ImageKeys is null)
            {
                var image = encoder_hidden_states ?? throw new ArgumentNullException(nameof(encoder_hidden_states), "the first step needs the image embeddings");
                cache.SetImage(SplitHeads(key.call(image)), SplitHeads(value.call(image)));
            }

            var keys = cache.ImageKeys!;                                           // (images, heads, S, head_dim)
            var images = keys.shape[0];
            var perImage = rows / images;
            var grouped = q.reshape(images, perImage, _heads, length, _headSize)   // (images, R, heads, T, head_dim)
                .permute(0, 2, 1, 3, 4)                                            // (images, heads, R, T, head_dim)
                .reshape(images, _heads, perImage * length, _headSize);            // (images, heads, R·T, head_dim)
            var scores = grouped.matmul(keys.transpose(-1, -2)).div(_scoreDivisor); // (images, heads, R·T, S)
            if (encoder_attention_mask is not null)
            {
                scores = scores.Plus(encoder_attention_mask);                       // (images, 1, 1, S) broadcast
            }

            context = dropout.call(scores.softmax(-1)).matmul(cache.ImageValues!)  // (images, heads, R·T, head_dim)
                .view(images, _heads, perImage, length, _headSize)                 // (images, heads, R, T, head_dim)
                .permute(0, 2, 3, 1, 4);                                           // (images, R, T, heads, head_dim)
        }
        else
        {
            var (keys, values) = cache.Append(SplitHeads(key.call(hidden_states)), SplitHeads(value.call(hidden_states))); // (rows, heads, past + T, head_dim)
            var scores = q.matmul(keys.transpose(-1, -2)).div(_scoreDivisor); // (rows, heads, T, past + T)
            if (length > 1)
            {
                // New token i sees the past and new tokens 0 … i: the causal mask's last T rows, additive as in training.
                var past = keys.shape[2] - length;
                var blocked = ones(length, past + length, dtype: scores.dtype, device: scores.device).triu(past + 1); // (T, past + T)
                scores = scores.Plus(blocked.mul_(RootedScalars.Blocked));
            }

            context = dropout.call(scores.softmax(-1)).matmul(values)             // (rows, heads, T, head_dim)
                .permute(0, 2, 1, 3);                                              // (rows, T, heads, head_dim)
        }

        return context.reshape(rows, length, _heads * _headSize).MoveToOuterDisposeScope(); // (rows, T, D)
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
        return LayerNorm.call(dropout.call(dense.call(hidden_states)).Plus(input_tensor)).MoveToOuterDisposeScope();
    }
}
