using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Messages;

namespace Orchestrator.Artifacts.Tests;

public sealed class CheckpointResolverTests : IDisposable
{
    private readonly ArtifactTestContext _context = new();
    private readonly FolderArtifactStore _store;
    private readonly CheckpointResolver _resolver;

    public CheckpointResolverTests()
    {
        _store = _context.FolderStore();
        _resolver = _context.Resolver(_store);
    }

    public void Dispose() => _context.Dispose();

    [Fact]
    public async Task A_checkpoint_that_verifies_is_used_as_given()
    {
        var (_, _, step300) = await CommitThreeAsync();

        var resolved = await _resolver.ResolveAsync("exp-1", "pretrain", step300);

        Assert.Equal(step300, resolved?.Manifest.Reference);
        Assert.Empty(_context.ResolverLog.Entries);
    }

    [Fact]
    public async Task A_flipped_byte_in_the_checkpoint_falls_back_to_the_previous_good_one()
    {
        var (_, step200, step300) = await CommitThreeAsync();
        ArtifactTestContext.FlipByte(FileOf(step300, "weights.safetensors"), 1234);

        var resolved = await _resolver.ResolveAsync("exp-1", "pretrain", step300);

        Assert.Equal(step200, resolved?.Manifest.Reference);
        Assert.Equal(Path.GetDirectoryName(new Uri(step200.Uri).LocalPath), resolved?.Directory);
        var entries = _context.ResolverLog.Entries;
        Assert.Equal(2, entries.Count);
        Assert.All(entries, entry => Assert.Equal(LogLevel.Warning, entry.Level));
        Assert.StartsWith($"Checkpoint {step300.Uri} (step 300) cannot be resumed from: artifact {step300.Uri} is corrupt: file 'weights.safetensors' has SHA-256 ",
            entries[0].Message, StringComparison.Ordinal);
        Assert.Equal($"Resuming from the older checkpoint {step200.Uri} (step 200) instead of {step300.Uri} (step 300)", entries[1].Message);
    }

    [Fact]
    public async Task Corrupt_checkpoints_are_skipped_until_one_verifies()
    {
        var (step100, step200, step300) = await CommitThreeAsync();
        ArtifactTestContext.FlipByte(FileOf(step300, "weights.safetensors"), 0);
        ArtifactTestContext.FlipByte(FileOf(step200, "optimizer/moments.bin"), 0);

        var resolved = await _resolver.ResolveAsync("exp-1", "pretrain", step300);

        Assert.Equal(step100, resolved?.Manifest.Reference);
        Assert.Equal(3, _context.ResolverLog.Entries.Count);
    }

    [Fact]
    public async Task When_no_checkpoint_verifies_the_run_starts_fresh_and_says_why()
    {
        var (step100, step200, step300) = await CommitThreeAsync();
        foreach (var reference in new[] { step100, step200, step300 })
        {
            ArtifactTestContext.FlipByte(FileOf(reference, ".rng-state"), 3);
        }

        var resolved = await _resolver.ResolveAsync("exp-1", "pretrain", step300);

        Assert.Null(resolved);
        var entries = _context.ResolverLog.Entries;
        Assert.Equal(4, entries.Count);
        Assert.All(entries.Take(3), entry => Assert.Contains("is corrupt: file '.rng-state' has SHA-256", entry.Message, StringComparison.Ordinal));
        Assert.Equal(
            $"No checkpoint of exp-1/pretrain at or before {step300.Uri} verifies (each reason is logged above); the run starts fresh",
            entries[3].Message);
    }

    [Fact]
    public async Task A_deleted_checkpoint_falls_back_to_the_previous_one()
    {
        var (_, step200, step300) = await CommitThreeAsync();
        Directory.Delete(Path.GetDirectoryName(new Uri(step300.Uri).LocalPath)!, recursive: true);

        var resolved = await _resolver.ResolveAsync("exp-1", "pretrain", step300);

        Assert.Equal(step200, resolved?.Manifest.Reference);
        Assert.Contains("was not found", _context.ResolverLog.Entries[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_older_checkpoints_of_the_same_type_replace_a_corrupt_one()
    {
        var (_, step200, step300) = await CommitThreeAsync();
        await _context.CommitCheckpointAsync(_store, "run-3", 400);
        _context.Time.Advance(TimeSpan.FromMinutes(1));
        var report = ArtifactTestContext.Checkpoint("run-2", 250) with { Type = "report.eval", Name = "eval-step-000250" };
        await _store.CommitAsync(report, _context.WriteSource("report", ("bleu.json", 64)));
        ArtifactTestContext.FlipByte(FileOf(step300, "weights.safetensors"), 7);

        var resolved = await _resolver.ResolveAsync("exp-1", "pretrain", step300);

        Assert.Equal(step200, resolved?.Manifest.Reference);
    }

    [Fact]
    public async Task Without_a_checkpoint_to_resume_from_the_run_starts_fresh_quietly()
    {
        await CommitThreeAsync();

        Assert.Null(await _resolver.ResolveAsync("exp-1", "pretrain", resumeFrom: null));
        Assert.Empty(_context.ResolverLog.Entries);
    }

    /// <summary>Checkpoints at steps 100 and 200 from one run, and 300 from its retry.</summary>
    private async Task<(ArtifactReference Step100, ArtifactReference Step200, ArtifactReference Step300)> CommitThreeAsync() => (
        await _context.CommitCheckpointAsync(_store, "run-1", 100),
        await _context.CommitCheckpointAsync(_store, "run-1", 200),
        await _context.CommitCheckpointAsync(_store, "run-2", 300));

    private static string FileOf(ArtifactReference reference, string path) =>
        Path.Combine(Path.GetDirectoryName(new Uri(reference.Uri).LocalPath)!, path);
}
