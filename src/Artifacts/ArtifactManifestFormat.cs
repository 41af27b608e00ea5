using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Contracts.Messages;

namespace Orchestrator.Artifacts;

/// <summary>
/// manifest.json: camelCase JSON of <see cref="ArtifactManifest"/>. A manifest cannot contain its own hash,
/// so the stored <see cref="ArtifactManifest.Reference"/> has no SHA-256; readers fill it in from the bytes
/// they read, together with the URI they read them from. The content digest (<see cref="ArtifactDigest"/>) is
/// stored, and readers compute it from the files either way: manifests written before it existed have none.
/// </summary>
internal static class ArtifactManifestFormat
{
    public static ArtifactManifest Create(ArtifactDraft draft, string uri, DateTimeOffset committedAt, IReadOnlyList<ArtifactFile> files) => new()
    {
        Reference = new ArtifactReference { Uri = uri, Type = draft.Type, Step = draft.Step, ContentDigest = ArtifactDigest.Of(files) },
        Draft = draft,
        CommittedAt = committedAt,
        Files = files,
    };

    public static byte[] Serialize(ArtifactManifest manifest) =>
        JsonSerializer.SerializeToUtf8Bytes(manifest with { Reference = manifest.Reference with { Sha256 = null } }, ArtifactManifestJsonContext.Default.ArtifactManifest);

    /// <summary>
    /// Parses manifest bytes read from <paramref name="uri"/>, first checking them against
    /// <paramref name="expectedSha256"/> when the reference carries one.
    /// </summary>
    public static ArtifactManifest Read(ReadOnlySpan<byte> bytes, string uri, string? expectedSha256)
    {
        var sha256 = ArtifactHashing.Sha256(bytes);
        if (expectedSha256 is not null && !string.Equals(sha256, expectedSha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArtifactCorruptException(uri, $"{ArtifactLayout.ManifestFileName} has SHA-256 {sha256} but the reference says {expectedSha256.ToLowerInvariant()}");
        }

        ArtifactManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(bytes, ArtifactManifestJsonContext.Default.ArtifactManifest);
        }
        catch (JsonException exception)
        {
            throw new ArtifactCorruptException(uri, $"{ArtifactLayout.ManifestFileName} is not a valid manifest ({exception.Message})");
        }

        if (manifest is null)
        {
            throw new ArtifactCorruptException(uri, $"{ArtifactLayout.ManifestFileName} is empty (null)");
        }

        if (manifest.Files.FirstOrDefault(file => !ArtifactLayout.IsSafeRelativePath(file.Path)) is { } unsafeFile)
        {
            throw new ArtifactCorruptException(uri, $"{ArtifactLayout.ManifestFileName} lists the path '{unsafeFile.Path}', which is not a plain relative path");
        }

        if (manifest.Files.GroupBy(file => file.Path, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1) is { } duplicate)
        {
            throw new ArtifactCorruptException(uri, $"{ArtifactLayout.ManifestFileName} lists '{duplicate.Key}' more than once");
        }

        // A stored digest that disagrees with the files it sits beside would give the artifact a false address.
        string digest;
        try
        {
            digest = ArtifactDigest.Of(manifest.Files);
        }
        catch (ArgumentException exception)
        {
            throw new ArtifactCorruptException(uri, $"{ArtifactLayout.ManifestFileName} is not a valid manifest ({exception.Message})");
        }

        if (manifest.Reference.ContentDigest is { } stored && !string.Equals(stored, digest, StringComparison.Ordinal))
        {
            throw new ArtifactCorruptException(uri, $"{ArtifactLayout.ManifestFileName} gives the content digest {stored} but its files make {digest}");
        }

        // The stored URI is where the artifact was committed; the one read from is where it is now.
        return manifest with { Reference = manifest.Reference with { Uri = uri, Sha256 = sha256, ContentDigest = digest } };
    }

    /// <summary>
    /// Whether two commits of the same name carry the same artifact: same type and the same files with the
    /// same bytes. The commit time and the draft's metadata may differ between a commit and its retry.
    /// </summary>
    public static bool SameContent(ArtifactManifest committed, string type, IReadOnlyList<ArtifactFile> files) =>
        string.Equals(committed.Draft.Type, type, StringComparison.Ordinal)
        && committed.Files.OrderBy(file => file.Path, StringComparer.Ordinal)
            .SequenceEqual(files.OrderBy(file => file.Path, StringComparer.Ordinal), FileComparer.Instance);

    /// <summary>The error for a commit that names an existing artifact with different content.</summary>
    public static InvalidOperationException Conflict(ArtifactManifest committed, ArtifactDraft draft) => new(
        $"artifact {committed.Reference.Uri} already exists with different content (committed {committed.CommittedAt:O} " +
        $"as {committed.Draft.Type} with {committed.Files.Count} files): artifacts are immutable, so commit under a new " +
        $"ArtifactDraft.Name than '{draft.Name}', e.g. one with the step in it");

    /// <summary>Throws <see cref="ArtifactCorruptException"/> naming the file unless its bytes match the manifest.</summary>
    public static void Verify(string uri, ArtifactFile expected, FileDigest actual)
    {
        if (actual.Size != expected.Size)
        {
            throw new ArtifactCorruptException(uri, $"file '{expected.Path}' is {actual.Size} bytes but the manifest says {expected.Size}");
        }

        if (!string.Equals(actual.Sha256, expected.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArtifactCorruptException(uri, $"file '{expected.Path}' has SHA-256 {actual.Sha256} but the manifest says {expected.Sha256}");
        }
    }

    private sealed class FileComparer : IEqualityComparer<ArtifactFile>
    {
        public static readonly FileComparer Instance = new();

        public bool Equals(ArtifactFile? x, ArtifactFile? y) =>
            x is not null && y is not null
            && string.Equals(x.Path, y.Path, StringComparison.Ordinal)
            && x.Size == y.Size
            && string.Equals(x.Sha256, y.Sha256, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode(ArtifactFile obj) => StringComparer.Ordinal.GetHashCode(obj.Path);
    }
}

/// <summary>
/// The manifest's JSON contract, generated at compile time so it needs no reflection (the worker stays
/// trimmable) and cannot drift with a runtime option.
/// </summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,

    // A diverged run reports a NaN loss; the manifest must still be writable and say so.
    NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,

    // A manifest with "files": null or a file without its hash is corrupt, not an empty artifact.
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(ArtifactManifest))]
internal sealed partial class ArtifactManifestJsonContext : JsonSerializerContext;
