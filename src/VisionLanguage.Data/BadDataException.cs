namespace VisionLanguage.Data;

/// <summary>
/// An annotation entry the data pipeline cannot use (a missing or undecodable image, an empty caption, a
/// malformed entry) under <c>on_bad_data: fail</c>. The run fails for good: another attempt would meet the same
/// data. The message names the annotation file, the entry and the image, and says how to fix it.
/// </summary>
public sealed class BadDataException(BadDataEntry entry)
    : Exception($"{entry}. Fix the entry or its image, or set on_bad_data: skip to skip such entries and count them.")
{
    public BadDataEntry Entry { get; } = entry;
}

/// <summary>
/// An unusable entry of an annotation file: which file, which entry (0-based position in the JSON list), which
/// image as the entry names it, which caption of a caption list when only that caption is bad, and the problem.
/// </summary>
public sealed record BadDataEntry(string AnnotationFile, int Entry, string? Image, int? Caption, string Problem)
{
    public override string ToString()
    {
        var caption = Caption is { } index ? $", caption {index}" : "";
        var image = Image is null ? "" : $" (image '{Image}'{caption})";
        return $"{AnnotationFile}: entry {Entry}{image}: {Problem}";
    }
}
