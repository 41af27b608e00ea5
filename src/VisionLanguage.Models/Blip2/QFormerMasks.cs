using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Blip2;

/// <summary>
/// The additive attention masks of the three stage-1 objectives (reference §2.4; rows attend to columns; 0 where
/// allowed, −10,000 where blocked, as BERT's <c>get_extended_attention_mask</c> makes them):
/// <list type="bullet">
/// <item>ITC, uni-modal: queries see queries, text sees text (LAVIS runs it as two separate passes; <see cref="Unimodal"/>
/// is the same pattern over one <c>[queries ; text]</c> pass);</item>
/// <item>ITM, bidirectional: every position sees every non-padding position (<see cref="Padding"/>);</item>
/// <item>ITG, multimodal causal: queries see queries only, text token i sees every query and text tokens 0 … i
/// (<see cref="MultimodalCausal"/>).</item>
/// </list>
/// </summary>
public static class QFormerMasks
{
    /// <summary>(B, 1, 1, L) from a 0/1 mask (B, L): every row sees every position the mask keeps.</summary>
    public static Tensor Padding(Tensor keep)
    {
        using var scope = NewDisposeScope();
        return Additive(keep.to(float32).unsqueeze(1).unsqueeze(1)).MoveToOuterDisposeScope();
    }

    /// <summary>ITC's pattern over <c>[queries ; text]</c> (B, 1, Q + T, Q + T): two blocks on the diagonal, text padding blocked.</summary>
    public static Tensor Unimodal(long queries, Tensor textKeep)
    {
        using var scope = NewDisposeScope();
        var (batch, length) = (textKeep.shape[0], textKeep.shape[1]);
        var allowed = zeros(batch, queries + length, queries + length, device: textKeep.device);
        allowed.narrow(1, 0, queries).narrow(2, 0, queries).fill_(1);
        allowed.narrow(1, queries, length).narrow(2, queries, length).copy_(textKeep.to(float32).unsqueeze(1).expand(batch, length, length));
        return Additive(allowed.unsqueeze(1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// ITG's pattern (B, 1, rows, Q + T): with <paramref name="queryRows"/> the query rows are included (one
    /// <c>[queries ; text]</c> pass, as in caption generation); without them only the text rows (text after queries whose
    /// keys and values are cached, as in training).
    /// </summary>
    public static Tensor MultimodalCausal(long queries, Tensor textKeep, bool queryRows)
    {
        using var scope = NewDisposeScope();
        var (batch, length) = (textKeep.shape[0], textKeep.shape[1]);
        var columns = queries + length;
        var text = ones(length, length, device: textKeep.device).tril();                                          // (T, T)
        var textRows = cat([ones(length, queries, device: textKeep.device), text], 1);                              // (T, Q + T)
        var rows = queryRows
            ? cat([cat([ones(queries, queries, device: textKeep.device), zeros(queries, length, device: textKeep.device)], 1), textRows], 0)
            : textRows;                                                                                            // (rows, Q + T)
        var keepColumns = cat([ones(batch, queries, device: textKeep.device), textKeep.to(float32)], 1).unsqueeze(1); // (B, 1, Q + T)
        var allowed = rows.unsqueeze(0).mul(keepColumns);                                                           // (B, rows, Q + T)
        return Additive(allowed.unsqueeze(1)).MoveToOuterDisposeScope();
    }

    /// <summary>(1 − allowed) · −10,000.</summary>
    private static Tensor Additive(Tensor allowed) => allowed.neg().add_(RootedScalars.One).mul_(RootedScalars.Blocked);
}
