namespace VisionLanguage.Tasks.Capfilt;

/// <summary>
/// One candidate pair of CapFilt: a web image (its path in the web dataset), a caption for it, where the caption came
/// from, and the filter's ITM match probability for the pair.
/// </summary>
public sealed record CapfiltCandidate(string Image, string Caption, CaptionSource Source, double Score);
