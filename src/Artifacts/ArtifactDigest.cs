using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Artifacts;

/// <summary>
/// An artifact's content address: what it holds, and nothing about who made it or when. Two artifacts with the same
/// files (same relative paths, same bytes) have the same digest, whichever run committed them and at what time; the
/// manifest's own SHA-256 covers the run, the time and the metrics too, and stays the integrity check of a reference.
/// </summary>
/// <remarks>
/// The canonical encoding, so that any tool can recompute it: the files sorted by the UTF-8 bytes of their relative
/// paths ('/'-separated, as in the manifest), and for each file its path's UTF-8 bytes, one 0x00 byte, its SHA-256 as 64
/// lowercase hex digits and one 0x0A byte. The digest is <c>sha256:</c> followed by the lowercase hex SHA-256 of that
/// byte string. A path never holds 0x00 (<see cref="ArtifactLayout.IsSafeRelativePath"/>) and a hash is always 64
/// digits, so no two file lists encode alike.
/// </remarks>
public static class ArtifactDigest
{
    /// <summary>The prefix naming the hash, as in <c>sha256:9f86d0…</c>.</summary>
    public const string Prefix = "sha256:";

    /// <summary>The content digest of an artifact holding <paramref name="files"/>.</summary>
    public static string Of(IEnumerable<ArtifactFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var entries = files
            .Select(file => (Path: Encoding.UTF8.GetBytes(file.Path), Sha256: file.Sha256.ToLowerInvariant()))
            .OrderBy(entry => entry.Path, Utf8Order.Instance);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (path, sha256) in entries)
        {
            if (sha256.Length != 64 || !sha256.All(char.IsAsciiHexDigitLower))
            {
                throw new ArgumentException($"file '{Encoding.UTF8.GetString(path)}' has SHA-256 '{sha256}', which is not 64 hex digits", nameof(files));
            }

            hash.AppendData(path);
            hash.AppendData([0x00]);
            hash.AppendData(Encoding.ASCII.GetBytes(sha256));
            hash.AppendData([0x0A]);
        }

        return Prefix + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Byte-wise order of UTF-8 strings, the same in every language (UTF-16 ordinal order is not, past the BMP).</summary>
    private sealed class Utf8Order : IComparer<byte[]>
    {
        public static readonly Utf8Order Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
