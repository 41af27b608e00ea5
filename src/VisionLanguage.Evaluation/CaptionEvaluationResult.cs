namespace VisionLanguage.Evaluation;

/// <summary>Captioning quality on an evaluation split.</summary>
/// <param name="Images">Images captioned.</param>
/// <param name="Bleu4">Corpus BLEU-4 (COCO evaluation), in [0, 1].</param>
/// <param name="CiderD">CIDEr-D (COCO evaluation), mean over images; 10 is a perfect match of every reference.</param>
/// <param name="Samples">The first few images with their captions, for people to read.</param>
public sealed record CaptionEvaluationResult(int Images, double Bleu4, double CiderD, IReadOnlyList<CaptionSample> Samples)
{
    /// <summary>The stage metrics: <c>eval_bleu4</c>, <c>eval_cider</c> (CIDEr-D), <c>eval_images</c>.</summary>
    public IReadOnlyDictionary<string, double> Metrics() => new Dictionary<string, double>
    {
        ["eval_bleu4"] = Bleu4,
        ["eval_cider"] = CiderD,
        ["eval_images"] = Images,
    };
}
