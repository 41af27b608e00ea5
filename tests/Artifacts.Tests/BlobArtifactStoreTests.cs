using Azure.Storage.Blobs.Models;

namespace Orchestrator.Artifacts.Tests;

/// <summary>The blob store against a real Azurite, each test in a container of its own.</summary>
public sealed class BlobArtifactStoreTests : IDisposable
{
    private readonly ArtifactTestContext _context = new();

    public void Dispose() => _context.Dispose();

    [ServerFact(TestServers.AzuriteBlob)]
    public async Task Commit_creates_the_container_and_fetch_round_trips_through_the_local_cache()
    {
        await using var azurite = new AzuriteContainer();
        var store = _context.BlobStore(azurite.ConnectionString, azurite.Name);
        var source = _context.WriteCheckpointSource("out");
        var draft = ArtifactTestContext.Checkpoint("run-1", 100) with { Metrics = new Dictionary<string, double> { ["loss_itm"] = 0.75 } };
        Assert.False((await azurite.Client.ExistsAsync()).Value);

        var reference = await store.CommitAsync(draft, source);
        var local = await store.FetchAsync(reference);

        const string Prefix = "exp-1/pretrain/run-1/checkpoint-step-000100/";
        Assert.Equal(azurite.Client.GetBlobClient(Prefix + "manifest.json").Uri.AbsoluteUri, reference.Uri);
        Assert.Equal(100, reference.Step);
        var blobs = new List<string>();
        await foreach (var blob in azurite.Client.GetBlobsAsync(new GetBlobsOptions { Prefix = Prefix, Traits = BlobTraits.Metadata }))
        {
            blobs.Add(blob.Name);
            if (!blob.Name.EndsWith("manifest.json", StringComparison.Ordinal))
            {
                var bytes = File.ReadAllBytes(Path.Combine(source, blob.Name[Prefix.Length..]));
                Assert.Equal(ArtifactTestContext.Sha256(bytes), blob.Metadata["sha256"]);
            }
        }

        Assert.Equal([Prefix + ".rng-state", Prefix + "manifest.json", Prefix + "optimizer/moments.bin", Prefix + "weights.safetensors"], blobs);

        var cache = Path.Combine(_context.DataDirectory, "cache", "devstoreaccount1", azurite.Name, "exp-1", "pretrain", "run-1", "checkpoint-step-000100");
        Assert.Equal(cache, local.Directory);
        Assert.Equal(reference, local.Manifest.Reference);
        Assert.Equal(reference.Sha256, ArtifactTestContext.Sha256(File.ReadAllBytes(Path.Combine(cache, "manifest.json"))));
        Assert.Equal(ArtifactTestContext.Start, local.Manifest.CommittedAt);
        Assert.Equal(0.75, local.Manifest.Draft.Metrics["loss_itm"]);
        Assert.Equal([".rng-state", "optimizer/moments.bin", "weights.safetensors"], local.Manifest.Files.Select(file => file.Path));
        foreach (var file in local.Manifest.Files)
        {
            var bytes = File.ReadAllBytes(Path.Combine(source, file.Path));
            Assert.Equal(new ArtifactFile(file.Path, bytes.Length, ArtifactTestContext.Sha256(bytes)), file);
            Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(cache, file.Path)));
        }
    }

    [ServerFact(TestServers.AzuriteBlob)]
    public async Task A_blob_overwritten_with_flipped_bytes_is_detected_on_fetch_and_never_cached()
    {
        await using var azurite = new AzuriteContainer();
        var store = _context.BlobStore(azurite.ConnectionString, azurite.Name);
        var source = _context.WriteCheckpointSource("out");
        var reference = await store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), source);
        var original = File.ReadAllBytes(Path.Combine(source, "optimizer", "moments.bin"));
        var flipped = original.ToArray();
        flipped[10] ^= 0x80;
        await azurite.Client.GetBlobClient("exp-1/pretrain/run-1/checkpoint-step-000100/optimizer/moments.bin")
            .UploadAsync(BinaryData.FromBytes(flipped), overwrite: true);

        var error = await Assert.ThrowsAsync<ArtifactCorruptException>(() => store.FetchAsync(reference));

        Assert.Equal(reference.Uri, error.Uri);
        Assert.Equal(
            $"artifact {reference.Uri} is corrupt: file 'optimizer/moments.bin' has SHA-256 {ArtifactTestContext.Sha256(flipped)} " +
            $"but the manifest says {ArtifactTestContext.Sha256(original)}",
            error.Message);
        var cached = Path.Combine(_context.DataDirectory, "cache", "devstoreaccount1", azurite.Name, "exp-1", "pretrain", "run-1", "checkpoint-step-000100", "optimizer");
        Assert.Empty(Directory.GetFileSystemEntries(cached));
    }

    [ServerFact(TestServers.AzuriteBlob)]
    public async Task A_corrupted_cache_copy_is_downloaded_again()
    {
        await using var azurite = new AzuriteContainer();
        var store = _context.BlobStore(azurite.ConnectionString, azurite.Name);
        var source = _context.WriteCheckpointSource("out");
        var reference = await store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), source);
        var first = await store.FetchAsync(reference);
        ArtifactTestContext.FlipByte(Path.Combine(first.Directory, "weights.safetensors"), 99);
        File.WriteAllText(Path.Combine(first.Directory, "stray.txt"), "not part of the artifact");

        var second = await store.FetchAsync(reference);

        Assert.Equal(File.ReadAllBytes(Path.Combine(source, "weights.safetensors")), File.ReadAllBytes(Path.Combine(second.Directory, "weights.safetensors")));
        Assert.False(File.Exists(Path.Combine(second.Directory, "stray.txt")));
    }

    [ServerFact(TestServers.AzuriteBlob)]
    public async Task Files_uploaded_without_their_manifest_are_not_an_artifact()
    {
        await using var azurite = new AzuriteContainer();
        var store = _context.BlobStore(azurite.ConnectionString, azurite.Name);

        // A dataset may hold a manifest.json of its own below its root; that is a file, not an artifact.
        var dataset = ArtifactTestContext.Checkpoint("run-1", 100) with { Type = "dataset", Name = "web", Step = null };
        var committed = await store.CommitAsync(dataset, _context.WriteSource("dataset", ("images/manifest.json", 32), ("captions.jsonl", 512)));

        // What a commit that crashed before its manifest leaves behind.
        const string Orphan = "exp-1/pretrain/run-9/checkpoint-step-000900/";
        await azurite.Client.GetBlobClient(Orphan + "weights.safetensors").UploadAsync(BinaryData.FromBytes(ArtifactTestContext.Bytes("orphan", 4096)));

        var listed = await store.ListAsync("exp-1", "pretrain");

        Assert.Equal([committed], listed.Select(manifest => manifest.Reference));
        var orphan = committed with { Uri = azurite.Client.GetBlobClient(Orphan + "manifest.json").Uri.AbsoluteUri, Sha256 = null };
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => store.FetchAsync(orphan));
    }

    [ServerFact(TestServers.AzuriteBlob)]
    public async Task An_experiment_lists_across_its_stages_and_a_deleted_artifact_leaves_no_blob()
    {
        await using var azurite = new AzuriteContainer();
        var store = _context.BlobStore(azurite.ConnectionString, azurite.Name);

        await _context.ListsAnExperimentAndDeletesOneArtifactAsync(store);

        var left = new List<string>();
        await foreach (var blob in azurite.Client.GetBlobsAsync(new GetBlobsOptions { Prefix = "exp-1/pretrain/run-1/checkpoint-step-000200/" }))
        {
            left.Add(blob.Name);
        }

        Assert.Empty(left);
    }

    [ServerFact(TestServers.AzuriteBlob)]
    public async Task List_returns_the_stages_committed_artifacts_oldest_first()
    {
        await using var azurite = new AzuriteContainer();
        var store = _context.BlobStore(azurite.ConnectionString, azurite.Name);
        Assert.Empty(await store.ListAsync("exp-1", "pretrain"));

        await _context.CommitCheckpointAsync(store, "run-2", 300);
        await _context.CommitCheckpointAsync(store, "run-1", 100);
        await _context.CommitCheckpointAsync(store, "run-1", 200);
        _context.Time.Advance(TimeSpan.FromMinutes(1));
        await store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 400, stage: "finetune"), _context.WriteCheckpointSource("finetune"));

        var listed = await store.ListAsync("exp-1", "pretrain");

        Assert.Equal([300L, 100L, 200L], listed.Select(manifest => manifest.Draft.Step!.Value));
        Assert.Equal(
            [ArtifactTestContext.Start.AddMinutes(1), ArtifactTestContext.Start.AddMinutes(2), ArtifactTestContext.Start.AddMinutes(3)],
            listed.Select(manifest => manifest.CommittedAt));
        foreach (var manifest in listed)
        {
            Assert.Equal(manifest.Reference, (await store.FetchAsync(manifest.Reference)).Manifest.Reference);
        }
    }

    [ServerFact(TestServers.AzuriteBlob)]
    public async Task A_retried_commit_returns_the_same_reference_and_a_conflicting_one_changes_nothing()
    {
        await using var azurite = new AzuriteContainer();
        var store = _context.BlobStore(azurite.ConnectionString, azurite.Name);
        var source = _context.WriteCheckpointSource("out");
        var first = await store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), source);
        _context.Time.Advance(TimeSpan.FromMinutes(5));

        var retried = await store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), source);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), _context.WriteCheckpointSource("other")));

        Assert.Equal(first, retried);
        Assert.StartsWith($"artifact {first.Uri} already exists with different content", error.Message, StringComparison.Ordinal);
        var fetched = await store.FetchAsync(first);
        Assert.Equal(File.ReadAllBytes(Path.Combine(source, "weights.safetensors")), File.ReadAllBytes(Path.Combine(fetched.Directory, "weights.safetensors")));
    }

    [ServerFact(TestServers.AzuriteBlob)]
    public async Task The_resolver_falls_back_over_blobs_to_the_newest_older_checkpoint_that_verifies()
    {
        await using var azurite = new AzuriteContainer();
        var store = _context.BlobStore(azurite.ConnectionString, azurite.Name);
        var resolver = _context.Resolver(store);
        var step100 = await _context.CommitCheckpointAsync(store, "run-1", 100);
        var step200 = await _context.CommitCheckpointAsync(store, "run-1", 200);
        var step300 = await _context.CommitCheckpointAsync(store, "run-2", 300);
        await Corrupt(azurite, "run-2/checkpoint-step-000300/weights.safetensors");

        Assert.Equal(step200, (await resolver.ResolveAsync("exp-1", "pretrain", step300))?.Manifest.Reference);

        // The verified copy of step 200 in the cache would still serve (it matches the manifest); a worker
        // with an empty cache must download, and so meets the corrupt blob.
        await Corrupt(azurite, "run-1/checkpoint-step-000200/.rng-state");
        Directory.Delete(Path.Combine(_context.DataDirectory, "cache"), recursive: true);
        Assert.Equal(step100, (await resolver.ResolveAsync("exp-1", "pretrain", step300))?.Manifest.Reference);

        await Corrupt(azurite, "run-1/checkpoint-step-000100/optimizer/moments.bin");
        Directory.Delete(Path.Combine(_context.DataDirectory, "cache"), recursive: true);
        Assert.Null(await resolver.ResolveAsync("exp-1", "pretrain", step300));
    }

    private static async Task Corrupt(AzuriteContainer azurite, string path)
    {
        var blob = azurite.Client.GetBlobClient("exp-1/pretrain/" + path);
        var bytes = (await blob.DownloadContentAsync()).Value.Content.ToArray();
        bytes[0] ^= 0x01;
        await blob.UploadAsync(BinaryData.FromBytes(bytes), overwrite: true);
    }
}
