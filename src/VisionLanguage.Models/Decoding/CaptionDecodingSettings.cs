
namespace VisionLanguage.Models.Decoding;

/// <summary>
/// How a caption generator (<c>VisionLanguage.Tasks.Captioning.CaptionGenerator</c>) decodes. Lengths count the whole decoder sequence, [DEC] and the prompt
/// included, as HuggingFace's <c>generate</c> does for BLIP (see <see cref="DecodingRules"/>).
/// </summary>
public sealed record CaptionDecodingSettings
{
    public CaptionSearch Search { get; init; } = CaptionSearch.Beam;

    /// <summary>Beams per image; 1 is greedy search, as in HuggingFace.</summary>
    public int BeamSize { get; init; } = 3;

    /// <summary>[SEP] is forbidden while the sequence is shorter (prompt included).</summary>
    public int MinLength { get; init; } = 5;

    /// <summary>Longest sequence (prompt included).</summary>
    public int MaxLength { get; init; } = 20;

    /// <summary>Nucleus threshold of sampling.</summary>
    public double TopP { get; init; } = 0.9;

    /// <summary>Top-k applied before the nucleus in sampling; HuggingFace's default of 50, which BLIP leaves in force.</summary>
    public int TopK { get; init; } = NucleusSampling.DefaultTopK;

    /// <summary>HuggingFace repetition penalty; BLIP uses 1.0 with beam search and 1.1 with sampling.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>Captions sampled per image (nucleus sampling only; searches give one).</summary>
    public int SamplesPerImage { get; init; } = 1;

    /// <summary>Decode with the key/value cache; false recomputes the whole sequence each step (tests, benchmark).</summary>
    public bool UseCache { get; init; } = true;
}
