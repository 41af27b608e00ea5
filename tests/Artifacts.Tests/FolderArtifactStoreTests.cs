using System.Text.Json;
using Orchestrator.Contracts.Messages;

namespace Orchestrator.Artifacts.Tests;

public sealed class FolderArtifactStoreTests : IDisposable
{
    private readonly ArtifactTestContext _context = new();
    private readonly FolderArtifactStore _store;

    public FolderArtifactStoreTests() => _store = _context.FolderStore();

    public void Dispose() => _context.Dispose();

    [Fact]
    public async Task Commit_then_fetch_returns_the_files_their_hashes_and_the_manifest()
    {
        var source = _context.WriteCheckpointSource("out");
        var dataset = new ArtifactReference { Uri = "file:///elsewhere/dataset/manifest.json", Type = "dataset", Sha256 = new string('a', 64) };
        var draft = ArtifactTestContext.Checkpoint("run-1", 100) with
        {
            Parents = [dataset],
            Metrics = new Dictionary<string, double> { ["loss_itc"] = 1.25, ["loss_lm"] = double.NaN },
        };

        var reference = await _store.CommitAsync(draft, source);
        var local = await _store.FetchAsync(reference);

        var folder = Path.Combine(_context.DataDirectory, "artifacts", "exp-1", "pretrain", "run-1", "checkpoint-step-000100");
        var manifestPath = Path.Combine(folder, "manifest.json");
        Assert.Equal(new Uri(manifestPath).AbsoluteUri, reference.Uri);
        Assert.Equal("checkpoint.blip", reference.Type);
        Assert.Equal(100, reference.Step);
        Assert.Equal(ArtifactTestContext.Sha256(File.ReadAllBytes(manifestPath)), reference.Sha256);
        Assert.Equal(folder, local.Directory);

        var manifest = local.Manifest;
        Assert.Equal(reference, manifest.Reference);
        Assert.Equal(ArtifactTestContext.Start, manifest.CommittedAt);
        Assert.Equal("exp-1", manifest.Draft.ExperimentId);
        Assert.Equal("pretrain", manifest.Draft.StageId);
        Assert.Equal("run-1", manifest.Draft.RunId);
        Assert.Equal("checkpoint-step-000100", manifest.Draft.Name);
        Assert.Equal(draft.OptionsHash, manifest.Draft.OptionsHash);
        Assert.Equal(100, manifest.Draft.Step);
        Assert.Equal([dataset], manifest.Draft.Parents);
        Assert.Equal(1.25, manifest.Draft.Metrics["loss_itc"]);
        Assert.True(double.IsNaN(manifest.Draft.Metrics["loss_lm"]));

        string[] paths = [".rng-state", "optimizer/moments.bin", "weights.safetensors"];
        var expectedFiles = paths.Select(path =>
        {
            var bytes = File.ReadAllBytes(Path.Combine(source, path));
            return new ArtifactFile(path, bytes.Length, ArtifactTestContext.Sha256(bytes));
        });
        Assert.Equal(expectedFiles, manifest.Files);
        foreach (var path in paths)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(source, path)), File.ReadAllBytes(Path.Combine(local.Directory, path)));
        }

        // The stored form: camelCase, and no hash of itself inside.
        using var json = JsonDocument.Parse(File.ReadAllBytes(manifestPath));
        Assert.Equal(ArtifactTestContext.Start, json.RootElement.GetProperty("committedAt").GetDateTimeOffset());
        Assert.Equal("exp-1", json.RootElement.GetProperty("draft").GetProperty("experimentId").GetString());
        Assert.False(json.RootElement.GetProperty("reference").TryGetProperty("sha256", out _));
        Assert.Equal(["checkpoint-step-000100"], Directory.GetFileSystemEntries(Path.GetDirectoryName(folder)!).Select(Path.GetFileName));
    }

    [Fact]
    public async Task An_experiment_lists_across_its_stages_and_a_deleted_artifact_is_gone_whole() =>
        await _context.ListsAnExperimentAndDeletesOneArtifactAsync(_store);

    [Fact]
    public async Task A_staging_folder_left_by_a_crash_before_the_rename_is_neither_listed_nor_fetched()
    {
        var reference = await _store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), _context.WriteCheckpointSource("out"));

        // The state a crash leaves just before the rename: every file and the manifest written, under a staging name.
        var folder = Path.GetDirectoryName(new Uri(reference.Uri).LocalPath)!;
        var staging = Path.Combine(Path.GetDirectoryName(folder)!, ".tmp-0123456789abcdef0123456789abcdef");
        Directory.Move(folder, staging);

        Assert.Empty(await _store.ListAsync("exp-1", "pretrain"));
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => _store.FetchAsync(reference));
        var intoStaging = reference with { Uri = new Uri(Path.Combine(staging, "manifest.json")).AbsoluteUri };
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => _store.FetchAsync(intoStaging));

        // A retry of the commit is not hindered by the leftover.
        var retried = await _store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), _context.WriteCheckpointSource("out"));
        Assert.Equal(reference.Uri, retried.Uri);
        Assert.Equal([reference.Uri], (await _store.ListAsync("exp-1", "pretrain")).Select(manifest => manifest.Reference.Uri));
    }

    [Fact]
    public async Task A_commit_whose_source_disappears_midway_leaves_no_artifact_and_no_staging_folder()
    {
        // Files are copied in ordinal order: the first is copied, then the second turns out to be gone
        // (a dangling link is listed like a file, and opening it fails as a deleted file would).
        var source = _context.WriteSource("out", ("a-weights.safetensors", 4096));
        File.CreateSymbolicLink(Path.Combine(source, "b-optimizer.bin"), Path.Combine(_context.Scratch, "deleted-meanwhile.bin"));

        await Assert.ThrowsAsync<FileNotFoundException>(() => _store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), source));

        Assert.Empty(await _store.ListAsync("exp-1", "pretrain"));
        var runFolder = Path.Combine(_context.DataDirectory, "artifacts", "exp-1", "pretrain", "run-1");
        Assert.Empty(Directory.GetFileSystemEntries(runFolder));
    }

    [Fact]
    public async Task Recommitting_the_same_content_returns_the_same_reference_and_keeps_the_first_commit()
    {
        var source = _context.WriteCheckpointSource("out");
        var first = await _store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), source);
        _context.Time.Advance(TimeSpan.FromMinutes(5));

        var second = await _store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), source);

        Assert.Equal(first, second);
        var listed = Assert.Single(await _store.ListAsync("exp-1", "pretrain"));
        Assert.Equal(ArtifactTestContext.Start, listed.CommittedAt);
    }

    [Fact]
    public async Task Committing_different_content_under_a_committed_name_is_refused()
    {
        var first = await _store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), _context.WriteCheckpointSource("out"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => _store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), _context.WriteCheckpointSource("other")));

        Assert.StartsWith($"artifact {first.Uri} already exists with different content", error.Message, StringComparison.Ordinal);
        Assert.Equal(first, (await _store.FetchAsync(first)).Manifest.Reference);
    }

    [Fact]
    public async Task A_flipped_byte_in_a_file_is_reported_naming_the_file_and_both_hashes()
    {
        var reference = await _store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), _context.WriteCheckpointSource("out"));
        var file = Path.Combine(Path.GetDirectoryName(new Uri(reference.Uri).LocalPath)!, "optimizer", "moments.bin");
        var expected = ArtifactTestContext.Sha256(File.ReadAllBytes(file));
        ArtifactTestContext.FlipByte(file, 500);

        var error = await Assert.ThrowsAsync<ArtifactCorruptException>(() => _store.FetchAsync(reference));

        var actual = ArtifactTestContext.Sha256(File.ReadAllBytes(file));
        Assert.Equal(reference.Uri, error.Uri);
        Assert.Equal(
            $"artifact {reference.Uri} is corrupt: file 'optimizer/moments.bin' has SHA-256 {actual} but the manifest says {expected}",
            error.Message);
    }

    [Fact]
    public async Task A_truncated_file_is_reported_with_both_sizes()
    {
        var reference = await _store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), _context.WriteCheckpointSource("out"));
        var file = Path.Combine(Path.GetDirectoryName(new Uri(reference.Uri).LocalPath)!, "weights.safetensors");
        using (var stream = File.OpenWrite(file))
        {
            stream.SetLength(4000);
        }

        var error = await Assert.ThrowsAsync<ArtifactCorruptException>(() => _store.FetchAsync(reference));

        Assert.Equal($"artifact {reference.Uri} is corrupt: file 'weights.safetensors' is 4000 bytes but the manifest says 4096", error.Message);
    }

    [Fact]
    public async Task A_deleted_file_is_reported_as_missing()
    {
        var reference = await _store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), _context.WriteCheckpointSource("out"));
        File.Delete(Path.Combine(Path.GetDirectoryName(new Uri(reference.Uri).LocalPath)!, ".rng-state"));

        var error = await Assert.ThrowsAsync<ArtifactCorruptException>(() => _store.FetchAsync(reference));

        Assert.Equal($"artifact {reference.Uri} is corrupt: file '.rng-state' is missing", error.Message);
    }

    [Fact]
    public async Task A_tampered_manifest_is_detected_against_the_hash_in_the_reference()
    {
        var draft = ArtifactTestContext.Checkpoint("run-1", 100) with { Metrics = new Dictionary<string, double> { ["loss"] = 2.5 } };
        var reference = await _store.CommitAsync(draft, _context.WriteCheckpointSource("out"));
        var manifestPath = new Uri(reference.Uri).LocalPath;
        File.WriteAllText(manifestPath, File.ReadAllText(manifestPath).Replace("2.5", "0.5", StringComparison.Ordinal));
        var tampered = ArtifactTestContext.Sha256(File.ReadAllBytes(manifestPath));

        var error = await Assert.ThrowsAsync<ArtifactCorruptException>(() => _store.FetchAsync(reference));

        Assert.Equal($"artifact {reference.Uri} is corrupt: manifest.json has SHA-256 {tampered} but the reference says {reference.Sha256}", error.Message);

        // The files still match, so only the reference's hash can tell: without it the edit goes unnoticed.
        var unverified = await _store.FetchAsync(reference with { Sha256 = null });
        Assert.Equal(0.5, unverified.Manifest.Draft.Metrics["loss"]);
    }

    [Fact]
    public async Task A_manifest_that_is_not_a_manifest_is_corrupt_and_does_not_hide_the_others_from_List()
    {
        var broken = await _context.CommitCheckpointAsync(_store, "run-1", 100);
        var good = await _context.CommitCheckpointAsync(_store, "run-1", 200);
        File.WriteAllText(new Uri(broken.Uri).LocalPath, """{ "reference": { "uri": "x", "type": "checkpoint.blip" }, "draft": null, "committedAt": "2025-03-01T12:00:00Z", "files": null }""");

        var error = await Assert.ThrowsAsync<ArtifactCorruptException>(() => _store.FetchAsync(broken with { Sha256 = null }));

        Assert.StartsWith($"artifact {broken.Uri} is corrupt: manifest.json is not a valid manifest (", error.Message, StringComparison.Ordinal);
        Assert.Equal([good], (await _store.ListAsync("exp-1", "pretrain")).Select(manifest => manifest.Reference));
    }

    [Fact]
    public async Task List_returns_the_stages_committed_artifacts_oldest_first()
    {
        await _context.CommitCheckpointAsync(_store, "run-2", 300);
        await _context.CommitCheckpointAsync(_store, "run-1", 100);
        await _context.CommitCheckpointAsync(_store, "run-1", 200);
        _context.Time.Advance(TimeSpan.FromMinutes(1));
        await _store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 400, stage: "finetune"), _context.WriteCheckpointSource("finetune"));

        var listed = await _store.ListAsync("exp-1", "pretrain");

        Assert.Equal([300L, 100L, 200L], listed.Select(manifest => manifest.Draft.Step!.Value));
        Assert.Equal(
            [ArtifactTestContext.Start.AddMinutes(1), ArtifactTestContext.Start.AddMinutes(2), ArtifactTestContext.Start.AddMinutes(3)],
            listed.Select(manifest => manifest.CommittedAt));
        foreach (var manifest in listed)
        {
            Assert.Equal(manifest.Reference, (await _store.FetchAsync(manifest.Reference)).Manifest.Reference);
        }

        Assert.Empty(await _store.ListAsync("exp-1", "no-such-stage"));
    }

    [Fact]
    public async Task Ids_that_are_not_plain_folder_names_are_refused()
    {
        var draft = ArtifactTestContext.Checkpoint("run-1", 100) with { ExperimentId = "../escape" };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => _store.CommitAsync(draft, _context.WriteCheckpointSource("out")));

        Assert.Equal("ExperimentId", error.ParamName);
        Assert.False(Directory.Exists(Path.Combine(_context.DataDirectory, "escape")));
    }

    [Fact]
    public async Task A_source_folder_with_its_own_manifest_json_at_the_root_is_refused()
    {
        var source = _context.WriteSource("out", ("manifest.json", 10));

        var error = await Assert.ThrowsAsync<ArgumentException>(() => _store.CommitAsync(ArtifactTestContext.Checkpoint("run-1", 100), source));

        Assert.Equal("sourceDirectory", error.ParamName);
    }

    [Fact]
    public async Task A_blob_reference_is_refused_with_the_setting_to_change()
    {
        var blob = new ArtifactReference { Uri = "https://account.blob.core.windows.net/artifacts/exp-1/pretrain/run-1/a/manifest.json", Type = "dataset" };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => _store.FetchAsync(blob));

        Assert.Contains("Artifacts:Kind=AzureBlob", error.Message, StringComparison.Ordinal);
    }
}
