namespace VisionLanguage.Evaluation;

/// <summary>Corpus BLEU-1 … BLEU-N and the length ratio behind the brevity penalty.</summary>
/// <param name="Scores">BLEU-n for n = 1 … N, each in [0, 1].</param>
/// <param name="Ratio">Candidate length over effective reference length, summed over the corpus.</param>
public sealed record BleuScore(IReadOnlyList<double> Scores, double Ratio)
{
    /// <summary>BLEU-4, the figure captioning papers report.</summary>
    public double Bleu4 => Scores[3];
}

/// <summary>
/// Corpus-level BLEU as the COCO caption evaluation computes it (pycocoevalcap <c>Bleu</c>, option "closest"): per
/// candidate, each n-gram's count is clipped to its largest count in any one reference; clipped matches and candidate
/// n-grams are summed over the corpus; BLEU-n is the geometric mean of the precisions for 1 … n; the brevity penalty
/// exp(1 − r / c) applies when the corpus candidate length c is below r, the sum over candidates of the reference length
/// closest to each (the shorter one on a tie). As there, 1e-15 and 1e-9 keep empty counts from dividing by zero.
/// </summary>
public static class Bleu
{
    private const double Tiny = 1e-15;
    private const double Small = 1e-9;

    /// <param name="candidates">One caption per image.</param>
    /// <param name="references">The reference captions of each image.</param>
    /// <param name="maxN">Longest n-gram; 4 for BLEU-4.</param>
    public static BleuScore Corpus(IReadOnlyList<string> candidates, IReadOnlyList<IReadOnlyList<string>> references, int maxN = 4)
    {
        CaptionCorpus.Check(candidates, references);
        var correct = new double[maxN];
        var guessed = new double[maxN];
        double candidateLength = 0, referenceLength = 0;
        for (var image = 0; image < candidates.Count; image++)
        {
            var candidate = CaptionTokenization.Tokenize(candidates[image]);
            var refs = references[image].Select(CaptionTokenization.Tokenize).ToList();
            var maxCounts = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var counts in refs.Select(reference => NGramCounts.Of(reference, maxN)))
            {
                foreach (var (ngram, count) in counts)
                {
                    maxCounts[ngram] = Math.Max(maxCounts.GetValueOrDefault(ngram), count);
                }
            }

            foreach (var (ngram, count) in NGramCounts.Of(candidate, maxN))
            {
                correct[NGramCounts.Order(ngram) - 1] += Math.Min(maxCounts.GetValueOrDefault(ngram), count);
            }

            for (var n = 1; n <= maxN; n++)
            {
                guessed[n - 1] += Math.Max(0, candidate.Count - n + 1);
            }

            candidateLength += candidate.Count;
            referenceLength += refs.Select(reference => reference.Count)
                .OrderBy(length => Math.Abs(length - candidate.Count)).ThenBy(length => length).First();
        }

        var ratio = (candidateLength + Tiny) / (referenceLength + Small);
        var scores = new double[maxN];
        var product = 1.0;
        for (var n = 1; n <= maxN; n++)
        {
            product *= (correct[n - 1] + Tiny) / (guessed[n - 1] + Small);
            scores[n - 1] = Math.Pow(product, 1.0 / n) * (ratio < 1 ? Math.Exp(1 - 1 / ratio) : 1);
        }

        return new BleuScore(scores, ratio);
    }
}
