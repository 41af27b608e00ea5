namespace Orchestrator.Contracts.Catalog;

/// <summary>
/// The lexical rules for import paths, shared by the orchestrator (at submission) and the worker (which also
/// resolves symbolic links before it applies them): a path is absolute, and once <c>.</c> and <c>..</c> are
/// resolved it is one of the roots or lies below one.
/// </summary>
public static class ImportRoots
{
    /// <summary>The root <paramref name="path"/> lies under, or null; both are normalised first (no file system access).</summary>
    public static string? Containing(string path, IEnumerable<string> roots)
    {
        if (!Path.IsPathFullyQualified(path))
        {
            return null;
        }

        var full = Normalize(path);
        return roots.Select(Normalize).FirstOrDefault(root => IsUnder(full, root));
    }

    /// <summary>The absolute form of <paramref name="path"/> with <c>.</c>, <c>..</c> and a trailing separator removed.</summary>
    public static string Normalize(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));

    /// <summary>Whether normalised <paramref name="path"/> is <paramref name="root"/> or below it (a sibling such as <c>/data2</c> of <c>/data</c> is not).</summary>
    public static bool IsUnder(string path, string root) =>
        path == root
        || (path.StartsWith(root, StringComparison.Ordinal)
            && (root.EndsWith(Path.DirectorySeparatorChar) || path[root.Length] == Path.DirectorySeparatorChar));

    /// <summary>The roots as an error message lists them.</summary>
    public static string Describe(IReadOnlyCollection<string> roots) =>
        roots.Count == 0 ? "(none: no worker is configured with Worker:ImportRoots)" : string.Join(", ", roots);
}
