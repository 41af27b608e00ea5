namespace VisionLanguage.Evaluation;

/// <summary>One evaluated image: its name, its reference captions and the caption the model wrote.</summary>
public sealed record CaptionSample(string Image, IReadOnlyList<string> References, string Generated);
