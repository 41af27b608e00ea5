using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Contracts.Messages;

namespace Orchestrator.Artifacts.Tests;

/// <summary>
/// One test's world: a scratch folder (source folders and the store's data directory), a fake clock that
/// stamps the manifests, and stores whose retries do not wait.
/// </summary>
internal sealed class ArtifactTestContext : IDisposable
{
    public const string Experiment = "exp-1";
    public const string Stage = "pretrain";
    public const string CheckpointType = "checkpoint.blip";

    public static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public ArtifactTestContext()
    {
        Scratch = Path.Combine(Path.GetTempPath(), "artifact-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Scratch);
    }

    public string Scratch { get; }

    public string DataDirectory => Path.Combine(Scratch, "data");

    public FakeTimeProvider Time { get; } = new(Start);

    public RecordingLogger<CheckpointResolver> ResolverLog { get; } = new();

    public ArtifactStoreOptions StoreOptions(string? connectionString = null, string container = "artifacts") => new()
    {
        Kind = connectionString is null ? ArtifactStoreKind.Folder : ArtifactStoreKind.AzureBlob,
        DataDirectory = DataDirectory,
        AzureBlobConnectionString = connectionString,
        Container = container,
        MaxRetryAttempts = 2,
        RetryBaseDelay = TimeSpan.Zero,
        RetryMaxDelay = TimeSpan.Zero,
    };

    public FolderArtifactStore FolderStore()
    {
        var options = Options.Create(StoreOptions());
        return new FolderArtifactStore(options, Resilience(options), Time, NullLogger<FolderArtifactStore>.Instance);
    }

    public BlobArtifactStore BlobStore(string connectionString, string container)
    {
        var options = Options.Create(StoreOptions(connectionString, container));
        return new BlobArtifactStore(options, Resilience(options), Time, NullLogger<BlobArtifactStore>.Instance);
    }

    public CheckpointResolver Resolver(IArtifactStore store) => new(store, ResolverLog);

    /// <summary>Writes a run's output folder: the given files, each with its own bytes, the same in every test run.</summary>
    public string WriteSource(string name, params (string Path, int Size)[] files)
    {
        var directory = Path.Combine(Scratch, "sources", name);
        foreach (var (path, size) in files)
        {
            var full = Path.Combine(directory, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, Bytes(path + name, size));
        }

        return directory;
    }

    /// <summary>A checkpoint's files: weights, optimizer moments in a subfolder, and a hidden RNG state.</summary>
    public string WriteCheckpointSource(string name) =>
        WriteSource(name, ("weights.safetensors", 4096), ("optimizer/moments.bin", 1000), (".rng-state", 16));

    public static ArtifactDraft Checkpoint(string runId, long step, string stage = Stage) => new()
    {
        Type = CheckpointType,
        ExperimentId = Experiment,
        StageId = stage,
        RunId = runId,
        Name = $"checkpoint-step-{step:D6}",
        OptionsHash = Sha256("options"u8.ToArray()),
        Step = step,
    };

    /// <summary>Commits a checkpoint at <paramref name="step"/> a minute after the previous one.</summary>
    public async Task<ArtifactReference> CommitCheckpointAsync(IArtifactStore store, string runId, long step)
    {
        Time.Advance(TimeSpan.FromMinutes(1));
        return await store.CommitAsync(Checkpoint(runId, step), WriteCheckpointSource($"{runId}-{step}"));
    }

    /// <summary>
    /// What every store does with an experiment listing and a deletion: three checkpoints of exp-1 in two stages are
    /// listed oldest first without exp-2's; a deleted one is neither listed nor fetched, its siblings are, and deleting
    /// it again is no error.
    /// </summary>
    public async Task ListsAnExperimentAndDeletesOneArtifactAsync(IArtifactStore store)
    {
        Assert.Empty(await store.ListExperimentAsync(Experiment));
        var first = await CommitCheckpointAsync(store, "run-1", 100);
        var second = await CommitCheckpointAsync(store, "run-1", 200);
        Time.Advance(TimeSpan.FromMinutes(1));
        await store.CommitAsync(Checkpoint("run-2", 400, stage: "finetune"), WriteCheckpointSource("finetune"));
        await store.CommitAsync(Checkpoint("run-9", 900) with { ExperimentId = "exp-2" }, WriteCheckpointSource("other"));

        Assert.Equal([100L, 200L, 400L], (await store.ListExperimentAsync(Experiment)).Select(manifest => manifest.Draft.Step!.Value));

        await store.DeleteAsync(second);

        Assert.Equal([100L, 400L], (await store.ListExperimentAsync(Experiment)).Select(manifest => manifest.Draft.Step!.Value));
        Assert.Equal([first], (await store.ListAsync(Experiment, Stage)).Select(manifest => manifest.Reference with { Sha256 = first.Sha256 }));
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => store.FetchAsync(second));
        await store.FetchAsync(first);
        await store.DeleteAsync(second);
    }

    public static byte[] Bytes(string seed, int size)
    {
        var bytes = new byte[size];
        var state = BitConverter.ToUInt32(SHA256.HashData(Encoding.UTF8.GetBytes(seed))) | 1u;
        for (var i = 0; i < size; i++)
        {
            // xorshift: cheap bytes that differ between files and never repeat a short pattern.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            bytes[i] = (byte)state;
        }

        return bytes;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static void FlipByte(string path, int offset)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[offset] ^= 0x01;
        File.WriteAllBytes(path, bytes);
    }

    public void Dispose() => Directory.Delete(Scratch, recursive: true);

    private static ArtifactStoreResilience Resilience(IOptions<ArtifactStoreOptions> options) =>
        new(options, NullLogger<ArtifactStoreResilience>.Instance);
}

/// <summary>Keeps what was logged, so tests can assert that a fallback says why.</summary>
internal sealed class RecordingLogger<T> : ILogger<T>
{
    private readonly List<(LogLevel Level, string Message)> _entries = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries)
        {
            _entries.Add((logLevel, formatter(state, exception)));
        }
    }
}

/// <summary>A container of its own on the test Azurite, deleted afterwards; no storage outage test begins meanwhile.</summary>
internal sealed class AzuriteContainer : IAsyncDisposable
{
    private readonly IDisposable _lease = AzuriteControl.Share();

    public AzuriteContainer()
    {
        ConnectionString = TestServers.Get(TestServers.AzuriteBlob);
        Name = "art-" + Guid.NewGuid().ToString("N");
        Client = new BlobServiceClient(ConnectionString).GetBlobContainerClient(Name);
    }

    public string ConnectionString { get; }

    public string Name { get; }

    public BlobContainerClient Client { get; }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Client.DeleteIfExistsAsync();
        }
        finally
        {
            _lease.Dispose();
        }
    }
}
