using Microsoft.Extensions.Options;
using Orchestrator.Contracts.Catalog;

namespace Trainer.Worker.Runners;

/// <summary>
/// The worker's own check of an import path, made when it opens the path: every symbolic link on the way is
/// resolved, and the real path must lie under the real path of one of <see cref="WorkerOptions.ImportRoots"/>.
/// The orchestrator checks the path as written at submission; this catches what only the file system knows
/// (a link inside a root that points outside it, a root that is itself a link). The path is resolved once and
/// the real path is what the caller then opens.
/// </summary>
public sealed class ImportRootGuard(IReadOnlyList<string> roots)
{
    /// <summary>Symbolic links followed in one path before it is refused as a loop (Linux's own limit).</summary>
    private const int MaxLinks = 40;

    public ImportRootGuard(IOptions<WorkerOptions> options)
        : this(options.Value.ImportRoots)
    {
    }

    /// <summary>The roots as configured.</summary>
    public IReadOnlyList<string> Roots { get; } = [.. roots.Select(ImportRoots.Normalize)];

    /// <summary>
    /// The real path of <paramref name="path"/> (the value of option <paramref name="option"/>), or
    /// <see cref="ImportPathRefusedException"/> when it is relative or its real path leaves every root.
    /// </summary>
    public string Resolve(string path, string option)
    {
        if (!Path.IsPathFullyQualified(path))
        {
            throw Refused(option, path, "is not an absolute path");
        }

        var real = RealPath(path, option);
        return Roots.Select(root => RealPath(root, option)).Any(root => ImportRoots.IsUnder(real, root))
            ? real
            : throw Refused(option, path, real == path ? "is outside every import root" : $"resolves to '{real}', outside every import root");
    }

    /// <summary>Resolves links component by component, as the kernel does; a part that does not exist is kept as written.</summary>
    private string RealPath(string path, string option)
    {
        var pending = new Stack<string>(ImportRoots.Normalize(path).Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse());
        var current = Path.GetPathRoot(Path.GetFullPath(path))!;
        var links = 0;
        while (pending.TryPop(out var part))
        {
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }

            var next = Path.Combine(current, part);
            if (new FileInfo(next).LinkTarget is not { } target)
            {
                current = next;
                continue;
            }

            if (++links > MaxLinks)
            {
                throw Refused(option, path, $"passes more than {MaxLinks} symbolic links (a loop?)");
            }

            // The link's target replaces it: an absolute target starts again from the root, a relative one from the link's folder.
            foreach (var targetPart in target.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse())
            {
                pending.Push(targetPart);
            }

            if (Path.IsPathRooted(target))
            {
                current = Path.GetPathRoot(target)!;
            }
        }

        return current;
    }

    private ImportPathRefusedException Refused(string option, string path, string problem) =>
        new($"{option} '{path}' {problem}; this worker reads imports only under its import roots: {ImportRoots.Describe(Roots)} " +
            "(Worker:ImportRoots). Put the files under one of them, or add a root to the workers' configuration.");
}

/// <summary>An import path leaves the worker's import roots; the run fails for good, since a retry would read the same path.</summary>
public sealed class ImportPathRefusedException(string message) : UnauthorizedAccessException(message);
