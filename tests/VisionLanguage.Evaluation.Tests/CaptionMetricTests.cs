
namespace VisionLanguage.Evaluation.Tests;

public sealed class CaptionMetricTests
{
    [Fact]
    public void Tokenization_lower_cases_and_drops_punctuation_as_the_coco_evaluation_does()
    {
        Assert.Equal(["a", "dog", "'s", "toy", "on", "the", "black-and-white", "mat"], CaptionTokenization.Tokenize("A Dog's toy, on the black-and-white mat ."));
    }

    [Fact]
    public void Bleu_4_of_a_two_image_corpus_by_hand()
    {
        // Image 1: "a small red circle on the left" (7 tokens, all distinct) against "a small red circle on the left side"
        // (8) and "a red circle at the left" (6). Every candidate n-gram is in the first reference: 7/7, 6/6, 5/5, 4/4.
        // Closest reference length: 8 and 6 are both 1 away; the shorter, 6, counts.
        // Image 2: "two blue squares" against "two big blue squares" (4): unigrams 3/3; bigrams "two blue" no,
        // "blue squares" yes: 1/2; trigram "two blue squares" no: 0/1; no 4-gram: 0/0.
        // Corpus: matches (10, 7, 5, 4) of (10, 8, 6, 4); lengths c = 10, r = 6 + 4 = 10, so no brevity penalty.
        // BLEU-4 = (10/10 · 7/8 · 5/6 · 4/4)^(1/4) = 0.729167^(1/4) = 0.924074; BLEU-2 = (7/8)^(1/2) = 0.935414.
        // (The COCO code's 1e-9 added to denominators moves the results by under 1e-9, hence the tolerance.)
        var score = Bleu.Corpus(
            ["a small red circle on the left", "two blue squares"],
            [["a small red circle on the left side", "a red circle at the left"], ["two big blue squares"]]);

        Assert.Equal(Math.Pow(7.0 / 8 * 5.0 / 6, 0.25), score.Bleu4, tolerance: 1e-9);
        Assert.Equal(Math.Sqrt(7.0 / 8), score.Scores[1], tolerance: 1e-9);
        Assert.Equal(1.0, score.Scores[0], tolerance: 1e-9);
        Assert.Equal(1.0, score.Ratio, tolerance: 1e-9);
    }

    [Fact]
    public void Bleu_applies_the_brevity_penalty_with_the_closest_reference_length_and_coco_smoothing()
    {
        // "a red circle" (c = 3) against "a red circle on the left" (6) and "a red circle here" (4): the closest length
        // is 4, so BP = exp(1 − 4/3) = exp(−1/3) = 0.716531. Precisions: 3/3, 2/2, 1/1; there is no 4-gram, and the COCO
        // code's (0 + 1e-15) / (0 + 1e-9) makes that precision 1e-6: BLEU-4 = (1e-6)^(1/4) · BP = 0.031623 · 0.716531.
        var score = Bleu.Corpus(["a red circle"], [["a red circle on the left", "a red circle here"]]);

        Assert.Equal(Math.Exp(-1.0 / 3), score.Scores[2], tolerance: 1e-9);
        Assert.Equal(Math.Pow(1e-6, 0.25) * Math.Exp(-1.0 / 3), score.Bleu4, tolerance: 1e-9);
        Assert.Equal(0.75, score.Ratio, tolerance: 1e-9);
    }

    [Fact]
    public void Bleu_clips_a_repeated_word_to_its_count_in_a_reference()
    {
        // "the the the the" against "the cat": "the" occurs 4 times but once in the reference: BLEU-1 = 1/4 (c = 4 > r = 2).
        var score = Bleu.Corpus(["the the the the"], [["the cat"]]);

        Assert.Equal(0.25, score.Scores[0], 9);
    }

    [Fact]
    public void Cider_d_by_hand_clipping_zero_norms_and_the_reference_average()
    {
        // Two images, so idf = ln 2 − ln max(1, df) = L = ln 2 for every n-gram here (each is in one image's references
        // or in none). Image A: "red circle" against "red circle" twice. Unigrams: weights (L, L) on both sides, cosine
        // 2L² / (L√2 · L√2) = 1; the bigram: 1; no trigram or 4-gram: zero norms give 0. Lengths (bigram counts) are equal,
        // so the Gaussian penalty is 1. Per reference mean over n = (1 + 1 + 0 + 0) / 4 = 0.5; summed over the two
        // references and divided by them: 0.5; × 10 = 5.
        // Image B: "blue circle" against "blue square". Unigrams: only "blue" matches: min(L, L)·L / (L√2 · L√2) = 0.5;
        // bigrams: 0. (0.5 + 0 + 0 + 0) / 4 · 10 = 1.25. Mean: (5 + 1.25) / 2 = 3.125.
        var score = CiderD.Score(["red circle", "blue circle"], [["red circle", "red circle"], ["blue square"]]);

        Assert.Equal(5.0, score.PerImage[0], 9);
        Assert.Equal(1.25, score.PerImage[1], 9);
        Assert.Equal(3.125, score.Mean, 9);
    }

    [Fact]
    public void Cider_d_by_hand_document_frequency_and_length_penalty()
    {
        // Two images, references "a dog" and "a cat": "a" is in both (df 2, idf ln 2 − ln 2 = 0); every other n-gram has
        // idf L = ln 2 (df 1, or df 0 counted as 1).
        // Image A: "a dog" against "a dog": unigrams (0, L) both sides, cosine L² / (L · L) = 1; bigram 1; score
        // (1 + 1 + 0 + 0) / 4 · 10 = 5.
        // Image B: "a cat sat on the big mat" (7 words, 6 bigrams) against "a cat" (1 bigram): δ = 5, penalty
        // exp(−25 / 72). Unigrams: candidate weights 0 for "a" and L for its six other words, norm L√6; reference norm L;
        // only "cat" matches: L² / (L√6 · L) = 1/√6. Bigrams: six of weight L (norm L√6), "a cat" matches: 1/√6. The
        // reference has no trigram: 0. Score (2/√6 · exp(−25/72)) / 4 · 10 = 5 · exp(−25/72) / √6 = 1.442453.
        var score = CiderD.Score(["a dog", "a cat sat on the big mat"], [["a dog"], ["a cat"]]);

        Assert.Equal(5.0, score.PerImage[0], 9);
        Assert.Equal(5 * Math.Exp(-25.0 / 72) / Math.Sqrt(6), score.PerImage[1], 9);
    }

    [Fact]
    public void Metrics_refuse_a_corpus_whose_images_and_candidates_disagree()
    {
        var error = Assert.Throws<ArgumentException>(() => CiderD.Score(["a dog"], [["a dog"], ["a cat"]]));

        Assert.Contains("1 candidate captions for 2 images", error.Message, StringComparison.Ordinal);
    }
}
