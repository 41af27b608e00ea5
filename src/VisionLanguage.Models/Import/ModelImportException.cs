namespace VisionLanguage.Models.Import;

/// <summary>
/// A checkpoint folder does not hold what its architecture and config say; <see cref="Problems"/> lists every mismatch
/// found. Not an <see cref="IOException"/>: the worker retries those, and a retry would read the same files.
/// </summary>
public sealed class ModelImportException(string folder, string architecture, IReadOnlyList<string> problems)
    : Exception(
        $"checkpoint folder {folder} does not hold a {architecture} model as its config.json describes it ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}): " +
        string.Join("; ", problems.Take(MaxListed).Select((problem, index) => $"{index + 1}) {problem}")) +
        (problems.Count > MaxListed ? $"; and {problems.Count - MaxListed} more" : "") +
        $". Check that option architecture ({architecture}) names what the folder holds and that config.json is the one saved with these weights.")
{
    private const int MaxListed = 40;

    public IReadOnlyList<string> Problems { get; } = problems;
}
