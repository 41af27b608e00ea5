using System.Text.Json;

namespace VisionLanguage.Data;

/// <summary>What the annotation readers (captions, VQA) share: opening an annotation JSON, and its images under a root.</summary>
internal static class AnnotationFiles
{
    /// <summary>
    /// The parsed file; <see cref="InvalidDataException"/> naming it when it is missing or not JSON (not a
    /// <see cref="FileNotFoundException"/>: that is an <see cref="IOException"/>, which the worker retries, and a wrong path
    /// stays wrong). <paramref name="format"/> says what the file should be, e.g. "a BLIP annotation JSON".
    /// </summary>
    public static JsonDocument Parse(string annotationFile, string format)
    {
        if (!File.Exists(annotationFile))
        {
            throw new InvalidDataException($"annotation file '{annotationFile}' does not exist; give the path of {format} on the worker");
        }

        try
        {
            using var stream = File.OpenRead(annotationFile);
            return JsonDocument.Parse(stream, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException exception)
        {
            throw new InvalidDataException(
                $"{annotationFile} is not valid JSON (line {exception.LineNumber + 1}, byte {exception.BytePositionInLine + 1}): {exception.Message}", exception);
        }
    }
}

/// <summary>
/// The distinct images an annotation file names, relative to its image root, in order of first use: each entry's image
/// path must stay inside the root and name a file that exists (and passes the image check, made once per file).
/// </summary>
internal sealed class AnnotationImages(string imageRoot, Func<string, string?>? checkImage)
{
    private readonly string _root = Path.GetFullPath(imageRoot);
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _problems = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];
    private readonly List<string> _paths = [];

    /// <summary>Each image's path as the annotation names it, relative to the root (normalised to '/').</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Each image's full path on this machine.</summary>
    public IReadOnlyList<string> Paths => _paths;

    /// <summary>The full path of <paramref name="image"/> when it is usable, else null and the problem.</summary>
    public string? Check(string image, out string? problem)
    {
        var fullPath = Path.GetFullPath(Path.Combine(_root, image));
        var relative = Path.GetRelativePath(_root, fullPath);
        if (Path.IsPathRooted(relative) || relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            problem = $"the image path leads outside the image root '{_root}'";
            return null;
        }

        if (!_problems.TryGetValue(fullPath, out problem))
        {
            problem = !File.Exists(fullPath)
                ? $"the image file '{fullPath}' does not exist"
                : checkImage?.Invoke(fullPath) is { } found ? $"the image file '{fullPath}' {found}" : null;
            _problems[fullPath] = problem;
        }

        return problem is null ? fullPath : null;
    }

    /// <summary>The id of a usable image (from <see cref="Check"/>), numbering it when it is first used.</summary>
    public int Use(string fullPath)
    {
        if (!_ids.TryGetValue(fullPath, out var id))
        {
            id = _names.Count;
            _ids[fullPath] = id;
            _names.Add(Path.GetRelativePath(_root, fullPath).Replace(Path.DirectorySeparatorChar, '/'));
            _paths.Add(fullPath);
        }

        return id;
    }
}
