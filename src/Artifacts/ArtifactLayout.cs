using System.Text.RegularExpressions;

namespace Orchestrator.Artifacts;

/// <summary>
/// The names both stores share: an artifact lives at <c>{experimentId}/{stageId}/{runId}/{name}/</c>, with
/// its files and a <c>manifest.json</c>. Ids become folder and blob names, so they are checked here.
/// </summary>
internal static partial class ArtifactLayout
{
    public const string ManifestFileName = "manifest.json";

    /// <summary>The prefix of a folder commit's staging folder; readers skip anything starting with a dot.</summary>
    public const string TempPrefix = ".tmp-";

    /// <summary>Segments of an artifact's path below the root: experiment, stage, run, name.</summary>
    public const int Depth = 4;

    public static string[] Segments(ArtifactDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        CheckSegment(draft.ExperimentId, nameof(ArtifactDraft.ExperimentId));
        CheckSegment(draft.StageId, nameof(ArtifactDraft.StageId));
        CheckSegment(draft.RunId, nameof(ArtifactDraft.RunId));
        CheckSegment(draft.Name, nameof(ArtifactDraft.Name));
        if (string.IsNullOrWhiteSpace(draft.Type))
        {
            throw new ArgumentException("ArtifactDraft.Type is empty: give the artifact type, e.g. checkpoint.blip", nameof(draft));
        }

        return [draft.ExperimentId, draft.StageId, draft.RunId, draft.Name];
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="what"/> unless the id is a safe path segment.</summary>
    public static void CheckSegment(string? value, string what)
    {
        if (!IsSegment(value))
        {
            throw new ArgumentException(
                $"{what} '{value}' cannot name an artifact folder: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
                what);
        }
    }

    public static bool IsSegment(string? value) => value is not null && SegmentPattern().IsMatch(value);

    /// <summary>
    /// A manifest's file path is used to build local paths, so one that could climb out of the artifact's
    /// folder (rooted, <c>..</c>, empty segments, backslashes) marks the manifest as corrupt, not as a path.
    /// </summary>
    public static bool IsSafeRelativePath(string? path) =>
        !string.IsNullOrEmpty(path)
        && !path.Contains('\\', StringComparison.Ordinal)
        && !path.Contains('\0', StringComparison.Ordinal)
        && path.Split('/').All(segment => segment.Length > 0 && segment != "." && segment != "..")
        && !string.Equals(path, ManifestFileName, StringComparison.Ordinal);

    /// <summary>
    /// Every file under <paramref name="sourceDirectory"/> as a relative path with '/' separators, in ordinal
    /// order so manifests list files the same way on every machine. Hidden files are included on purpose:
    /// they are part of what the run wrote.
    /// </summary>
    public static IReadOnlyList<string> ListSourceFiles(string sourceDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(sourceDirectory);
        if (!Directory.Exists(sourceDirectory))
        {
            throw new ArgumentException($"sourceDirectory '{sourceDirectory}' does not exist: commit a folder the run has written", nameof(sourceDirectory));
        }

        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false };
        var files = Directory.EnumerateFiles(sourceDirectory, "*", options)
            .Select(path => Path.GetRelativePath(sourceDirectory, path).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Contains(ManifestFileName, StringComparer.Ordinal))
        {
            throw new ArgumentException(
                $"sourceDirectory '{sourceDirectory}' holds a file named {ManifestFileName}, which the store writes itself: rename or move it",
                nameof(sourceDirectory));
        }

        if (files.FirstOrDefault(file => !IsSafeRelativePath(file)) is { } unsafePath)
        {
            throw new ArgumentException($"sourceDirectory '{sourceDirectory}' holds '{unsafePath}', which cannot be stored portably: rename it", nameof(sourceDirectory));
        }

        return files;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex SegmentPattern();
}
