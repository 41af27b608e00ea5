namespace VisionLanguage.Evaluation;

/// <summary>CIDEr-D of a set of captions: the mean over images and each image's score.</summary>
public sealed record CiderDScore(double Mean, IReadOnlyList<double> PerImage);

/// <summary>
/// CIDEr-D as the COCO caption evaluation computes it (pycocoevalcap <c>cider_scorer.py</c>, Vedantam et al.'s D
/// variant). For n = 1 … 4 every caption becomes a vector of TF-IDF weights: tf = the n-gram's count in the caption,
/// idf = ln(I) − ln(max(1, df)) with I the number of images and df the number of images whose references contain the
/// n-gram. The candidate's similarity to each reference is Σ min(w_cand, w_ref) · w_ref over the candidate's n-grams
/// (clipped counts), divided by both vectors' norms, times the Gaussian length penalty exp(−δ² / (2σ²)) with σ = 6,
/// where δ is the difference of the two captions' lengths (counted, as there, by bigrams: words − 1). An image's score
/// is the mean over n of the summed similarities, divided by the number of references and multiplied by 10. A zero norm
/// (no n-gram of that order, or only n-grams in every image's references) gives similarity 0, as in the CIDEr-D code.
/// </summary>
public static class CiderD
{
    private const int MaxN = 4;
    private const double Sigma = 6.0;

    /// <param name="candidates">One caption per image.</param>
    /// <param name="references">The reference captions of each image; their n-grams set the document frequencies.</param>
    public static CiderDScore Score(IReadOnlyList<string> candidates, IReadOnlyList<IReadOnlyList<string>> references)
    {
        CaptionCorpus.Check(candidates, references);
        var candidateCounts = candidates.Select(caption => NGramCounts.Of(CaptionTokenization.Tokenize(caption), MaxN)).ToList();
        var referenceCounts = references
            .Select(refs => refs.Select(caption => NGramCounts.Of(CaptionTokenization.Tokenize(caption), MaxN)).ToList())
            .ToList();

        var documentFrequency = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var ngram in referenceCounts.SelectMany(refs => refs.SelectMany(counts => counts.Keys).Distinct()))
        {
            documentFrequency[ngram] = documentFrequency.GetValueOrDefault(ngram) + 1;
        }

        var logImages = Math.Log(candidates.Count);
        var perImage = new double[candidates.Count];
        for (var image = 0; image < candidates.Count; image++)
        {
            var candidate = Vector(candidateCounts[image], documentFrequency, logImages);
            var sum = new double[MaxN];
            foreach (var reference in referenceCounts[image].Select(counts => Vector(counts, documentFrequency, logImages)))
            {
                var penalty = Math.Exp(-Math.Pow(candidate.Length - reference.Length, 2) / (2 * Sigma * Sigma));
                for (var n = 0; n < MaxN; n++)
                {
                    var dot = candidate.Weights[n].Sum(entry => Math.Min(entry.Value, reference.Weights[n].GetValueOrDefault(entry.Key)) * reference.Weights[n].GetValueOrDefault(entry.Key));
                    var norms = candidate.Norms[n] * reference.Norms[n];
                    sum[n] += (norms != 0 ? dot / norms : 0) * penalty;
                }
            }

            perImage[image] = sum.Average() / referenceCounts[image].Count * 10.0;
        }

        return new CiderDScore(perImage.Average(), perImage);
    }

    /// <summary>pycocoevalcap <c>counts2vec</c>: TF-IDF weights and norm per n, and the length (the bigram count).</summary>
    private static TfIdf Vector(Dictionary<string, int> counts, Dictionary<string, int> documentFrequency, double logImages)
    {
        var weights = Enumerable.Range(0, MaxN).Select(_ => new Dictionary<string, double>(StringComparer.Ordinal)).ToArray();
        var norms = new double[MaxN];
        var length = 0;
        foreach (var (ngram, count) in counts)
        {
            var n = NGramCounts.Order(ngram) - 1;
            var weight = count * (logImages - Math.Log(Math.Max(1.0, documentFrequency.GetValueOrDefault(ngram))));
            weights[n][ngram] = weight;
            norms[n] += weight * weight;
            if (n == 1)
            {
                length += count;
            }
        }

        return new TfIdf(weights, [.. norms.Select(Math.Sqrt)], length);
    }

    private sealed record TfIdf(Dictionary<string, double>[] Weights, double[] Norms, int Length);
}
