using TorchSharp;
using VisionLanguage.Models.Layers;
using static TorchSharp.torch;

namespace VisionLanguage.Models.Decoding;

/// <summary>
/// The loop HuggingFace's <c>greedy_search</c> and <c>sample</c> share: each step rewrites the scores (repetition
/// penalty, minimum length), picks one token per row, pads rows that have ended, and stops at max_length or when every
/// row has emitted [SEP].
/// </summary>
internal static class StepwiseDecoding
{
    /// <param name="session">The decoder, opened with the prompt's rows.</param>
    /// <param name="prompt">Prompt ids (rows, P), [DEC] first.</param>
    /// <param name="rules">Lengths, special tokens, repetition penalty.</param>
    /// <param name="choose">Scores (rows, vocab) after the rules → the next token of each row (rows), int64.</param>
    /// <returns>Each row: the prompt, the decoded tokens, and [SEP] unless max_length came first.</returns>
    public static long[][] Run(IDecoderSession session, Tensor prompt, DecodingRules rules, Func<Tensor, Tensor> choose)
    {
        var promptLength = (int)prompt.shape[1];
        rules.CheckPrompt(promptLength);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var sequences = prompt;                                                  // (rows, T)
        var unfinished = ones(prompt.shape[0], dtype: int64, device: prompt.device); // (rows)
        using var pad = rules.PadId.ToScalar();
        using var sep = rules.SepId.ToScalar();
        var logits = session.Next(prompt);                                       // (rows, vocab)
        while (true)
        {
            Tensor next;                                                         // (rows)
            using (NewDisposeScope())
            {
                // A step's vocabulary-sized tensors go at its end; only the chosen tokens stay.
                var scores = LogitsProcessing.RepetitionPenalty(logits, sequences, rules);
                scores = LogitsProcessing.ForbidEndBefore(scores, sequences.shape[1], rules);
                // chosen · unfinished + [PAD] · (1 − unfinished), with scalars held for the call (see RootedScalars).
                next = choose(scores).mul(unfinished).Plus(unfinished.neg().Plus(RootedScalars.One).mul_(pad)).MoveToOuterDisposeScope();
            }

            logits.Dispose();
            sequences = cat([sequences, next.unsqueeze(1)], dim: 1);             // (rows, T + 1)
            unfinished = unfinished.mul(next.ne(sep).to_type(int64));
            if (sequences.shape[1] >= rules.MaxLength || unfinished.max().item<long>() == 0)
            {
                break;
            }

            logits = session.Next(next.unsqueeze(1));
        }

        return Rows(sequences, promptLength, rules);
    }

    /// <summary>The rows of <paramref name="sequences"/> (rows, T) without the padding after [SEP].</summary>
    public static long[][] Rows(Tensor sequences, int promptLength, DecodingRules rules)
    {
        var length = (int)sequences.shape[1];
        var flat = sequences.cpu().data<long>().ToArray();
        return [.. flat.Chunk(length).Select(row => Trim(row, promptLength, rules))];
    }

    /// <summary>The prompt and the decoded tokens up to and including the first [SEP].</summary>
    public static long[] Trim(long[] row, int promptLength, DecodingRules rules)
    {
        var end = promptLength;
        while (end < row.Length && row[end] != rules.PadId)
        {
            end++;
            if (row[end - 1] == rules.SepId)
            {
                break;
            }
        }

        return row[..end];
    }
}
