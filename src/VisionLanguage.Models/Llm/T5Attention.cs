using TorchSharp;
using TorchSharp.Modules;
using VisionLanguage.Models.Decoding;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Llm;

/// <summary>
/// HF's <c>T5Attention</c>: q, k, v (d_model → heads × d_kv) and o, none with a bias, and scores q·kᵀ with no
/// 1/√d_kv (Mesh TensorFlow folds the scale into q's initialisation). The first block of each stack also holds the
/// relative position bias table (<c>relative_attention_bias</c>, buckets × heads), whose bias every block of the stack
/// adds. Cross-attention (<c>EncDecAttention</c>) never has one.
/// </summary>
public sealed class T5Attention : nn.Module
{
    private readonly Linear q;
    private readonly Linear k;
    private readonly Linear v;
    private readonly Linear o;
    private readonly Embedding? relative_attention_bias;
    private readonly long _heads;
    private readonly long _headDim;
    private readonly int _buckets;
    private readonly int _maxDistance;
    private readonly bool _bidirectional;

    /// <param name="config">The shape.</param>
    /// <param name="hasRelativeAttentionBias">Whether this attention holds its stack's bias table (block 0's self-attention).</param>
    /// <param name="bidirectional">Encoder buckets (both directions) rather than the decoder's (past only).</param>
    /// <param name="generator">Draws HF's initialisation.</param>
    public T5Attention(T5Config config, bool hasRelativeAttentionBias, bool bidirectional, Generator generator)
        : base(nameof(T5Attention))
    {
        (_heads, _headDim, _buckets, _maxDistance, _bidirectional) =
            (config.Heads, config.HeadDim, config.RelativeAttentionBuckets, config.RelativeAttentionMaxDistance, bidirectional);
        q = nn.Linear(config.HiddenSize, config.InnerDim, hasBias: false);
        k = nn.Linear(config.HiddenSize, config.InnerDim, hasBias: false);
        v = nn.Linear(config.HiddenSize, config.InnerDim, hasBias: false);
        o = nn.Linear(config.InnerDim, config.HiddenSize, hasBias: false);
        // HF's _init_weights (Mesh TensorFlow's): q's spread carries the missing 1/√d_kv.
        BlipInit.Normal(q, Math.Pow((double)config.HiddenSize * config.HeadDim, -0.5), generator);
        BlipInit.Normal(k, Math.Pow(config.HiddenSize, -0.5), generator);
        BlipInit.Normal(v, Math.Pow(config.HiddenSize, -0.5), generator);
        BlipInit.Normal(o, Math.Pow(config.InnerDim, -0.5), generator);
        if (hasRelativeAttentionBias)
        {
            relative_attention_bias = nn.Embedding(config.RelativeAttentionBuckets, config.Heads);
            BlipInit.Normal(relative_attention_bias, Math.Pow(config.HiddenSize, -0.5), generator);
        }

        RegisterComponents();
    }

    /// <summary>
    /// HF's <c>_relative_position_bucket</c>: the bucket of each offset (key position − query position, int64). Both
    /// directions: half the buckets each, the upper half for keys after the query. Past only: later keys fall in bucket
    /// 0. Within a direction, the first half of its buckets are exact offsets 0, 1, …; the rest grow logarithmically up
    /// to <paramref name="maxDistance"/>, and every offset beyond shares the last bucket.
    /// </summary>
    public static Tensor RelativePositionBucket(Tensor relativePosition, bool bidirectional, int numBuckets, int maxDistance)
    {
        using var scope = NewDisposeScope();
        var buckets = zeros_like(relativePosition);
        Tensor distance;
        if (bidirectional)
        {
            numBuckets /= 2;
            using var half = ((long)numBuckets).ToScalar();
            buckets = relativePosition.gt(RootedScalars.Zero).to_type(ScalarType.Int64).mul(half);
            distance = relativePosition.abs();
        }
        else
        {
            distance = relativePosition.clamp_max(RootedScalars.Zero).neg();
        }

        var maxExact = numBuckets / 2;
        using var exact = ((long)maxExact).ToScalar();
        using var exactAsFloat = ((double)maxExact).ToScalar();
        using var logRange = Math.Log((double)maxDistance / maxExact).ToScalar();
        using var logBuckets = ((double)(numBuckets - maxExact)).ToScalar();
        using var lastBucket = ((long)(numBuckets - 1)).ToScalar();
        // As HF, in float32: exact + trunc(log(n / exact) / log(max_distance / exact) · (buckets − exact)), at most the last.
        var large = distance.to_type(ScalarType.Float32).div(exactAsFloat).log().div(logRange).mul(logBuckets)
            .to_type(ScalarType.Int64).add(exact, RootedScalars.One).clamp_max(lastBucket);
        return buckets.Plus(where(distance.lt(exact), distance, large)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The relative position bias (1, heads, T, K) of queries at positions <paramref name="queryStart"/> … +T−1 over
    /// keys at 0 … K−1 (HF's <c>compute_bias</c>); only the attention that holds the table has one.
    /// </summary>
    public Tensor PositionBias(long queryStart, long queryLength, long keyLength, Device device)
    {
        if (relative_attention_bias is null)
        {
            throw new InvalidOperationException("only a stack's first self-attention holds the relative position bias table");
        }

        using var scope = NewDisposeScope();
        using var first = queryStart.ToScalar();
        using var end = (queryStart + queryLength).ToScalar();
        using var keys = keyLength.ToScalar();
        var context = arange(first, end, dtype: ScalarType.Int64, device: device).unsqueeze(1);                      // (T, 1)
        var memory = arange(RootedScalars.Zero, keys, dtype: ScalarType.Int64, device: device).unsqueeze(0);          // (1, K)
        var buckets = RelativePositionBucket(memory.sub(context), _bidirectional, _buckets, _maxDistance);            // (T, K)
        return relative_attention_bias.call(buckets)                                                                  // (T, K, heads)
            .permute(2, 0, 1).unsqueeze(0).MoveToOuterDisposeScope();                                                 // (1, heads, T, K)
    }

    /// <summary>
    /// Attention of <paramref name="x"/> (B, T, d_model) over itself, or over <paramref name="keyValueStates"/> (B, S,
    /// d_model) when given (cross-attention). <paramref name="bias"/> is the position bias with the mask already added
    /// (broadcastable to (B, heads, T, K)). With <paramref name="cache"/>, self-attention appends the new keys and values
    /// and attends over all; cross-attention computes the encoder's keys and values on the first call only.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor bias, Tensor? keyValueStates = null, LayerKeyValues? cache = null)
    {
        using var scope = NewDisposeScope();
        var (batch, length) = (x.shape[0], x.shape[1]);
        Tensor Heads(Tensor t) => t.reshape(t.shape[0], t.shape[1], _heads, _headDim).transpose(1, 2);              // (B, heads, L, d_kv)
        Tensor keys, values;
        if (keyValueStates is null)
        {
            (keys, values) = (Heads(k.call(x)), Heads(v.call(x)));
            if (cache is not null)
            {
                (keys, values) = cache.Append(keys, values);                                                          // (B, heads, past + T, d_kv)
            }
        }
        else if (cache?.ImageKeys is { } cachedKeys)
        {
            (keys, values) = (cachedKeys, cache.ImageValues!);                                                        // (B, heads, S, d_kv)
        }
        else
        {
            (keys, values) = (Heads(k.call(keyValueStates)), Heads(v.call(keyValueStates)));
            cache?.SetImage(keys, values);
        }

        var scores = Heads(q.call(x)).matmul(keys.transpose(2, 3)).Plus(bias);                                      // (B, heads, T, K)
        // HF: softmax in float32, then back to the scores' dtype.
        var weights = scores.to_type(ScalarType.Float32).softmax(-1).to_type(scores.dtype);
        var attended = weights.matmul(values).transpose(1, 2).reshape(batch, length, _heads * _headDim);             // (B, T, heads × d_kv)
        return o.call(attended).MoveToOuterDisposeScope();
    }
}
