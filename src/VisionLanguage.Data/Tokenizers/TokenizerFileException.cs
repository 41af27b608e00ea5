namespace VisionLanguage.Data.Tokenizers;

/// <summary>
/// A tokenizer folder lacks a file, or a file in it cannot be read or does not hold what its name promises. The
/// message names the file, the problem and the fix. Not an <see cref="IOException"/>: the worker retries those, and a
/// retry would read the same files.
/// </summary>
public sealed class TokenizerFileException : Exception
{
    public TokenizerFileException(string path, string problem, string fix, Exception? inner = null)
        : base($"{path}: {problem}. {fix}", inner)
    {
        FilePath = path;
        Problem = problem;
    }

    /// <summary>The file (or the folder, when the folder itself is missing) the problem is in.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it, without the fix.</summary>
    public string Problem { get; }
}
