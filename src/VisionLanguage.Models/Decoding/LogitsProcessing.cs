using TorchSharp;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Decoding;

/// <summary>The score rewrites of HuggingFace's <c>generate</c> that BLIP's decoding uses, on scores (rows, vocab).</summary>
public static class LogitsProcessing
{
    /// <summary>
    /// <c>RepetitionPenaltyLogitsProcessor</c>: for every token in <paramref name="sequences"/> (rows, T), its score is
    /// divided by <paramref name="penalty"/> if positive and multiplied by it if negative. Returns new scores.
    /// </summary>
    public static Tensor RepetitionPenalty(Tensor scores, Tensor sequences, double penalty)
    {
        if (penalty == 1.0 || sequences.shape[1] == 0)
        {
            return scores.alias();
        }

        using var scope = NewDisposeScope();
        var seen = scores.gather(1, sequences);                                   // (rows, T)
        using var factor = penalty.ToScalar();
        var penalised = where(seen.lt(RootedScalars.Zero), seen.mul(factor), seen.div(factor));
        return scores.clone().scatter_(1, sequences, penalised).MoveToOuterDisposeScope();
    }

    /// <summary>The repetition penalty of <paramref name="rules"/> over the tokens of <paramref name="sequences"/> after its uncounted prefix.</summary>
    public static Tensor RepetitionPenalty(Tensor scores, Tensor sequences, DecodingRules rules)
    {
        var prefix = Math.Min(rules.UncountedPrefix, sequences.shape[1]);
        using var counted = sequences.narrow(1, prefix, sequences.shape[1] - prefix);
        return RepetitionPenalty(scores, counted, rules.RepetitionPenalty);
    }

    /// <summary><c>MinLengthLogitsProcessor</c>: [SEP] is impossible while the sequence is shorter than the minimum.</summary>
    public static Tensor ForbidEndBefore(Tensor scores, long length, DecodingRules rules)
    {
        if (length >= rules.MinLength)
        {
            return scores.alias();
        }

        var forbidden = scores.clone();
        forbidden.select(1, rules.SepId).fill_(RootedScalars.NegativeInfinity);
        return forbidden;
    }

    /// <summary><c>TopKLogitsWarper</c>: scores below the k-th largest become −∞; 0 keeps all.</summary>
    public static Tensor TopK(Tensor scores, int k)
    {
        if (k <= 0 || k >= scores.shape[1])
        {
            return scores.alias();
        }

        using var scope = NewDisposeScope();
        var kth = scores.topk(k, dim: 1).values.narrow(1, k - 1, 1);             // (rows, 1)
        return scores.masked_fill(scores.lt(kth), RootedScalars.NegativeInfinity).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <c>TopPLogitsWarper</c> (nucleus): sorted by score, a token is kept while the probability of the tokens before it
    /// is at most <paramref name="topP"/>, so the kept set is the smallest whose probability exceeds top_p (the most
    /// likely token always stays); the rest become −∞.
    /// </summary>
    public static Tensor TopP(Tensor scores, double topP)
    {
        if (topP >= 1.0)
        {
            return scores.alias();
        }

        using var scope = NewDisposeScope();
        var (sorted, order) = scores.sort(dim: 1, descending: true);              // (rows, vocab)
        var cumulative = sorted.softmax(1).cumsum(1);
        using var threshold = topP.ToScalar();
        var removeSorted = cumulative.gt(threshold);
        // Shift right: the token that crosses top_p is kept, and so is the first.
        removeSorted = cat([zeros_like(removeSorted.narrow(1, 0, 1)), removeSorted.narrow(1, 0, removeSorted.shape[1] - 1)], dim: 1);
        var remove = removeSorted.scatter(1, order, removeSorted);
        return scores.masked_fill(remove, RootedScalars.NegativeInfinity).MoveToOuterDisposeScope();
    }
}
