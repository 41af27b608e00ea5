using TorchSharp;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Llm;

/// <summary>
/// The additive attention masks of HF's LLMs: 0 where a query may attend, the dtype's lowest value elsewhere. HF uses
/// that value, not −∞, because a row of padding would otherwise softmax to NaN, and the NaN would reach real rows
/// through its keys and values.
/// </summary>
internal static class AttentionMasks
{
    /// <summary>(B, 1, 1, S) from <paramref name="attentionMask"/> (B, S; 1 on tokens, 0 on padding): every query sees every token.</summary>
    public static Tensor Padding(Tensor attentionMask, ScalarType dtype)
    {
        using var lowest = finfo(dtype).min.ToScalar();
        var padding = attentionMask.to_type(ScalarType.Bool).logical_not().unsqueeze(1).unsqueeze(1);      // (B, 1, 1, S)
        return zeros(padding.shape, dtype, attentionMask.device).masked_fill(padding, lowest);
    }

    /// <summary>
    /// (B, 1, T, past + T) for the last <paramref name="length"/> of the tokens <paramref name="attentionMask"/>
    /// (B, past + T) covers: each sees the tokens up to and including itself that are not padding.
    /// </summary>
    public static Tensor Causal(Tensor attentionMask, long length, ScalarType dtype)
    {
        var total = attentionMask.shape[1];
        var past = total - length;
        var causal = ones(length, total, ScalarType.Bool, attentionMask.device).tril(past);                 // (T, past + T)
        var allowed = causal.unsqueeze(0).logical_and(attentionMask.to_type(ScalarType.Bool).unsqueeze(1)); // (B, T, past + T)
        using var lowest = finfo(dtype).min.ToScalar();
        return zeros(allowed.shape, dtype, attentionMask.device).masked_fill(allowed.logical_not(), lowest).unsqueeze(1);
    }
}
