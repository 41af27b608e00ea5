using System.Security.Cryptography;

namespace Orchestrator.Artifacts;

/// <summary>SHA-256 as the artifact store writes it: streamed, never a whole file in memory, lowercase hex.</summary>
public static class ArtifactHashing
{
    // Large enough that checkpoint copies are not dominated by system calls, small enough to pool.
    private const int BufferSize = 1 << 20;

    /// <summary>The SHA-256 of <paramref name="bytes"/>, lowercase hex.</summary>
    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Hashes a file where it is.</summary>
    public static async Task<FileDigest> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = OpenRead(path);
        return await HashStreamAsync(stream, cancellationToken);
    }

    /// <summary>Hashes what is left of <paramref name="stream"/>, reading it in large blocks.</summary>
    public static async Task<FileDigest> HashStreamAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[BufferSize];

        // Counts the bytes hashed rather than asking for the length: the two differ if a file grows meanwhile.
        long size = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            size += read;
        }

        return new FileDigest(size, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    /// <summary>
    /// Copies <paramref name="source"/> into a new file, hashing the bytes as they pass, and flushes the file
    /// to the disk before returning, so a digest is never reported for bytes a power cut could still lose.
    /// </summary>
    public static async Task<FileDigest> CopyToNewFileAsync(Stream source, string destinationPath, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[BufferSize];
        long size = 0;
        await using var destination = new FileStream(destinationPath, FileMode.CreateNew, FileAccess.Write, FileShare.None,
            bufferSize: 1, FileOptions.Asynchronous);
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            size += read;
        }

        destination.Flush(flushToDisk: true);
        return new FileDigest(size, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    /// <summary>Copies a file, as <see cref="CopyToNewFileAsync(Stream, string, CancellationToken)"/>.</summary>
    public static async Task<FileDigest> CopyFileAsync(string sourcePath, string destinationPath, CancellationToken cancellationToken)
    {
        await using var source = OpenRead(sourcePath);
        return await CopyToNewFileAsync(source, destinationPath, cancellationToken);
    }

    /// <summary>Writes <paramref name="bytes"/> to a new file and flushes it to the disk.</summary>
    public static async Task WriteNewFileAsync(string path, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1, FileOptions.Asynchronous);
        await stream.WriteAsync(bytes, cancellationToken);
        stream.Flush(flushToDisk: true);
    }

    internal static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
}

/// <summary>A file's size in bytes and SHA-256 (lowercase hex).</summary>
public readonly record struct FileDigest(long Size, string Sha256);
