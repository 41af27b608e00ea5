namespace VisionLanguage.Models.Decoding;

/// <summary>How captions are searched for.</summary>
public enum CaptionSearch
{
    /// <summary>The best token at every step.</summary>
    Greedy,

    /// <summary>Beam search: the best sequence by length-normalised log-probability.</summary>
    Beam,

    /// <summary>Nucleus (top-p) sampling, seeded.</summary>
    Nucleus,
}
