namespace VisionLanguage.Tasks.Capfilt;

/// <summary>Where a CapFilt candidate caption came from: the web dataset, or the captioner.</summary>
public enum CaptionSource
{
    Web,
    Synthetic,
}
