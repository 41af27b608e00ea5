using static TorchSharp.torch;

namespace VisionLanguage.Models.Decoding;

/// <summary>
/// One decoder layer's cached attention inputs: the self-attention keys and values of every token decoded so far
/// (rows, heads, T, head_dim), growing by the new tokens each step, and the cross-attention keys and values over the
/// image tokens (images, heads, S, head_dim), computed once per image and shared by all of its rows (beams, samples);
/// a T5 decoder keeps its encoder's states there, one per row.
/// The tensors live outside dispose scopes; <see cref="Dispose"/> frees them.
/// </summary>
public sealed class LayerKeyValues : IDisposable
{
    private Tensor? _keys;
    private Tensor? _values;

    /// <summary>Cross-attention keys over the image tokens (images, heads, S, head_dim), or null before the first step.</summary>
    public Tensor? ImageKeys { get; private set; }

    /// <summary>Cross-attention values over the image tokens (images, heads, S, head_dim), or null before the first step.</summary>
    public Tensor? ImageValues { get; private set; }

    /// <summary>How many tokens' self-attention keys and values are cached.</summary>
    public long CachedTokens => _keys?.shape[2] ?? 0;

    /// <summary>Appends the new tokens' keys and values (rows, heads, T, head_dim); returns all of them, past and new.</summary>
    public (Tensor Keys, Tensor Values) Append(Tensor keys, Tensor values)
    {
        var allKeys = _keys is null ? keys : cat([_keys, keys], dim: 2);       // (rows, heads, past + T, head_dim)
        var allValues = _values is null ? values : cat([_values, values], dim: 2); // (rows, heads, past + T, head_dim)
        Replace(ref _keys, allKeys);
        Replace(ref _values, allValues);
        return (_keys!, _values!);
    }

    /// <summary>Keeps the image's keys and values for every later step.</summary>
    public void SetImage(Tensor keys, Tensor values)
    {
        ImageKeys = keys.DetachFromDisposeScope();
        ImageValues = values.DetachFromDisposeScope();
    }

    /// <summary>Keeps the self-attention rows <paramref name="rows"/> (int64, new row i ← old row rows[i]).</summary>
    public void Reorder(Tensor rows)
    {
        if (_keys is not null)
        {
            Replace(ref _keys, _keys.index_select(0, rows));
            Replace(ref _values, _values!.index_select(0, rows));
        }
    }

    public void Dispose()
    {
        _keys?.Dispose();
        _values?.Dispose();
        ImageKeys?.Dispose();
        ImageValues?.Dispose();
    }

    private static void Replace(ref Tensor? field, Tensor replacement)
    {
        var old = field;
        field = replacement.DetachFromDisposeScope();
        old?.Dispose();
    }
}
