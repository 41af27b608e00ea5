using Orchestrator.Contracts.Messages;

namespace Orchestrator.Artifacts.Tests;

/// <summary>
/// Artifacts committed before content digests existed still load: <c>Fixtures/manifest-before-digests</c> is a folder
/// store's artifact exactly as the store wrote it then (no <c>contentDigest</c> in its manifest), and readers compute
/// the digest from its files.
/// </summary>
public sealed class ManifestCompatibilityTests : IDisposable
{
    /// <summary>The SHA-256 of the fixture's manifest.json, as the store of the time reported it when it committed it.</summary>
    private const string ManifestSha256 = "3f7ae4935e15bf66b7c1a9f28c8e9d9c24bde1de865f25e2140e455ab2d81df9";

    private readonly ArtifactTestContext _context = new();

    public void Dispose() => _context.Dispose();

    [Fact]
    public async Task A_manifest_written_before_content_digests_loads_verifies_and_gets_its_digest_from_its_files()
    {
        var folder = CopyFixture();
        var store = _context.FolderStore();
        var manifestPath = Path.Combine(folder, "artifacts", "exp-1", "pretrain", "run-1", "checkpoint-step-000200", "manifest.json");
        Assert.DoesNotContain("contentDigest", await File.ReadAllTextAsync(manifestPath), StringComparison.Ordinal);
        var reference = new ArtifactReference { Uri = new Uri(manifestPath).AbsoluteUri, Type = "checkpoint.blip", Sha256 = ManifestSha256, Step = 200 };

        var local = await store.FetchAsync(reference);

        var manifest = local.Manifest;
        Assert.Equal(ManifestSha256, manifest.Reference.Sha256);
        Assert.Equal(reference.Uri, manifest.Reference.Uri);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero), manifest.CommittedAt);
        Assert.Equal(["config.json", "weights/model.safetensors"], manifest.Files.Select(file => file.Path));
        Assert.Equal(1.5, manifest.Draft.Metrics["loss"]);
        Assert.Null(Assert.Single(manifest.Draft.Parents).ContentDigest);
        Assert.Equal(ArtifactDigest.Of(manifest.Files), manifest.Reference.ContentDigest);

        // The same files committed today by another run, at another time, have the same address.
        var source = Path.Combine(_context.Scratch, "again");
        CopyFiles(local.Directory, source, withManifest: false);
        var again = await store.CommitAsync(ArtifactTestContext.Checkpoint("run-9", 900), source);
        Assert.Equal(manifest.Reference.ContentDigest, again.ContentDigest);
        Assert.NotEqual(manifest.Reference.Sha256, again.Sha256);
    }

    [Fact]
    public async Task The_stage_listing_includes_the_old_artifact_with_its_digest()
    {
        CopyFixture();

        var listed = Assert.Single(await _context.FolderStore().ListAsync("exp-1", "pretrain"));

        Assert.Equal(200, listed.Draft.Step);
        Assert.Equal(ArtifactDigest.Of(listed.Files), listed.Reference.ContentDigest);
    }

    /// <summary>Copies the fixture's store into this test's data directory; returns the folder holding <c>artifacts/</c>.</summary>
    private string CopyFixture()
    {
        CopyFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "manifest-before-digests"), _context.DataDirectory, withManifest: true);
        return _context.DataDirectory;
    }

    private static void CopyFiles(string from, string to, bool withManifest)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (!withManifest && Path.GetFileName(relative) == "manifest.json")
            {
                continue;
            }

            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
