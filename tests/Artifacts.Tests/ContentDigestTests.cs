using System.Security.Cryptography;
using System.Text;
using Orchestrator.Contracts.Messages;

namespace Orchestrator.Artifacts.Tests;

/// <summary>
/// The content digest (<see cref="ArtifactDigest"/>): a content address over the files' paths and hashes only, equal for
/// the same files whoever committed them and when, and different for any other byte or path.
/// </summary>
public sealed class ContentDigestTests : IDisposable
{
    private readonly ArtifactTestContext _context = new();

    public void Dispose() => _context.Dispose();

    [Fact]
    public async Task Two_artifacts_with_the_same_files_committed_by_different_runs_at_different_times_have_the_same_digest()
    {
        var store = _context.FolderStore();
        var first = await store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), SameFiles("first"));
        _context.Time.Advance(TimeSpan.FromHours(3));
        var second = await store.CommitAsync(
            ArtifactTestContext.Checkpoint("run-2", 300, stage: "repretrain") with { Metrics = new Dictionary<string, double> { ["loss"] = 0.5 } },
            SameFiles("second"));

        Assert.NotEqual(first.Uri, second.Uri);
        Assert.NotEqual(first.Sha256, second.Sha256);
        Assert.StartsWith(ArtifactDigest.Prefix, first.ContentDigest, StringComparison.Ordinal);
        Assert.Equal(first.ContentDigest, second.ContentDigest);

        // A reader computes the same digest from the manifest.
        Assert.Equal(first.ContentDigest, (await store.FetchAsync(first with { ContentDigest = null })).Manifest.Reference.ContentDigest);
    }

    [Theory]
    [InlineData("a/weights.bin", 17, "a/weights.bin", 0x01)]
    [InlineData("a/weights.bin", 0, "a/weights.bin", 0x80)]
    public void One_differing_byte_changes_the_digest(string path, int offset, string flipped, byte mask)
    {
        var bytes = ArtifactTestContext.Bytes("weights", 64);
        var changed = (byte[])bytes.Clone();
        changed[offset] ^= mask;

        Assert.NotEqual(
            ArtifactDigest.Of([File(path, bytes), File("config.json", "{}"u8.ToArray())]),
            ArtifactDigest.Of([File(flipped, changed), File("config.json", "{}"u8.ToArray())]));
    }

    [Theory]
    [InlineData("weights.bin", "weights.bim")]
    [InlineData("a/weights.bin", "b/weights.bin")]
    [InlineData("weights.bin", "weights.bin.old")]
    public void One_differing_path_changes_the_digest(string path, string other)
    {
        var bytes = ArtifactTestContext.Bytes("weights", 64);

        Assert.NotEqual(ArtifactDigest.Of([File(path, bytes)]), ArtifactDigest.Of([File(other, bytes)]));
    }

    [Fact]
    public void The_digest_ignores_the_order_files_are_listed_in_and_the_case_of_their_hashes_and_covers_no_size()
    {
        var a = File("a.bin", [1, 2, 3]);
        var b = File("b/c.bin", [4, 5]);

        Assert.Equal(ArtifactDigest.Of([a, b]), ArtifactDigest.Of([b with { Sha256 = b.Sha256.ToUpperInvariant() }, a]));
    }

    /// <summary>The encoding the decision record states, computed independently: paths in UTF-8 byte order, path NUL hex LF.</summary>
    [Fact]
    public void The_digest_is_the_sha256_of_the_stated_canonical_encoding()
    {
        // 'é' (U+00E9) sorts after 'z' in UTF-8 bytes; U+FB01 (a BMP ligature) after U+1F600 in UTF-16 but before it in UTF-8.
        ArtifactFile[] files = [File("z.bin", [1]), File("é.bin", [2]), File("\U0001F600.bin", [3]), File("\uFB01.bin", [4]), File("a/b.bin", [5])];
        var canonical = new MemoryStream();
        foreach (var file in new[] { files[4], files[0], files[1], files[3], files[2] })
        {
            canonical.Write(Encoding.UTF8.GetBytes(file.Path));
            canonical.WriteByte(0x00);
            canonical.Write(Encoding.ASCII.GetBytes(file.Sha256));
            canonical.WriteByte(0x0A);
        }

        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(canonical.ToArray())), ArtifactDigest.Of(files));
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData([])), ArtifactDigest.Of([]));
    }

    [Fact]
    public void A_file_without_a_proper_sha256_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => ArtifactDigest.Of([new ArtifactFile("a.bin", 1, "xyz")]));

        Assert.Contains("file 'a.bin' has SHA-256 'xyz'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_manifest_whose_stored_digest_disagrees_with_its_files_is_corrupt()
    {
        var store = _context.FolderStore();
        var reference = await store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), SameFiles("out"));
        var manifestPath = new Uri(reference.Uri).LocalPath;
        var wrong = "sha256:" + new string('0', 64);
        await System.IO.File.WriteAllTextAsync(manifestPath, (await System.IO.File.ReadAllTextAsync(manifestPath)).Replace(reference.ContentDigest!, wrong, StringComparison.Ordinal));

        var error = await Assert.ThrowsAsync<ArtifactCorruptException>(() => store.FetchAsync(reference with { Sha256 = null }));

        Assert.Contains($"gives the content digest {wrong} but its files make {reference.ContentDigest}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_artifact_reference_carries_the_digest_as_its_last_member()
    {
        var members = typeof(ArtifactReference).GetProperties().Select(property => property.Name).ToList();

        Assert.Equal(["Uri", "Type", "Sha256", "Step", "ContentDigest"], members);
    }

    /// <summary>The same three files, written afresh under <paramref name="name"/>.</summary>
    private string SameFiles(string name)
    {
        var directory = Path.Combine(_context.Scratch, "same", name);
        Directory.CreateDirectory(Path.Combine(directory, "optimizer"));
        System.IO.File.WriteAllBytes(Path.Combine(directory, "weights.safetensors"), ArtifactTestContext.Bytes("weights", 4096));
        System.IO.File.WriteAllBytes(Path.Combine(directory, "optimizer", "moments.bin"), ArtifactTestContext.Bytes("moments", 1000));
        System.IO.File.WriteAllBytes(Path.Combine(directory, ".rng-state"), ArtifactTestContext.Bytes("rng", 16));
        return directory;
    }

    private static ArtifactFile File(string path, byte[] bytes) => new(path, bytes.Length, ArtifactTestContext.Sha256(bytes));
}
