using Microsoft.Extensions.Logging;
using VisionLanguage.Training;
using VisionLanguage.Training.Distributed;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Running;

/// <summary>Who a run's process is in its gang and where it computes.</summary>
/// <param name="Kind">The stage kind the task runs, as errors name it (e.g. <c>blip.pretrain</c>).</param>
/// <param name="Rank">This process's rank in the gang, 0-based.</param>
/// <param name="WorldSize">Processes in the gang.</param>
/// <param name="Device">Where this process computes.</param>
public sealed record RunIdentity(string Kind, int Rank, int WorldSize, Device Device)
{
    /// <summary>One process on the CPU: how a bench or a notebook runs a task.</summary>
    public static RunIdentity Local(string kind) => new(kind, 0, 1, CPU);
}

/// <summary>An input artifact, fetched and verified, as a local folder.</summary>
/// <param name="Name">The artifact's name, as errors and logs show it (e.g. <c>checkpoint</c>, <c>human</c>).</param>
/// <param name="Directory">The folder holding its files.</param>
/// <param name="ContentDigest">The digest of its files, when its store gives one: how an output refers to an input it does not copy.</param>
public sealed record InputFolder(string Name, string Directory, string? ContentDigest = null);

/// <summary>A run's inputs, by the stage kind's input names.</summary>
public interface ITaskInputs
{
    /// <summary>The folders bound to input <paramref name="name"/>, fetched on first use; empty when an optional input is unbound.</summary>
    Task<IReadOnlyList<InputFolder>> FetchAsync(string name, CancellationToken cancellationToken);
}

/// <summary>Where a run's checkpoints come from and go to.</summary>
public interface ITaskCheckpoints
{
    /// <summary>The folder of the checkpoint to resume from, verified; null when the run starts fresh.</summary>
    Task<string?> ResumeFolderAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Keeps the checkpoint written into <paramref name="directory"/> at <paramref name="step"/>, so a later attempt
    /// resumes from it. Runs to the end even after the run was cancelled: this is how a cancelled run saves its state.
    /// The folder may be deleted once this returns.
    /// </summary>
    Task SaveAsync(string directory, long step, IReadOnlyDictionary<string, double> metrics);
}

/// <summary>How far a run is: optimiser steps for a training task, shards for CapFilt.</summary>
/// <param name="Step">Units done.</param>
/// <param name="TotalSteps">Units in the whole run, when known.</param>
/// <param name="Epoch">The current epoch of a training task.</param>
/// <param name="Metrics">The latest metrics (losses, learning rate, throughput), named as in <see cref="ProgressMetricKeys"/>.</param>
/// <param name="SamplesPerSecond">Throughput of a training task.</param>
public sealed record TaskProgress(
    long Step, long? TotalSteps = null, int? Epoch = null, IReadOnlyDictionary<string, double>? Metrics = null, double? SamplesPerSecond = null)
{
    /// <summary>An optimiser step as the training loop reports it.</summary>
    public static TaskProgress Of(StepReport step) => new(step.Step, step.TotalSteps, step.Epoch, step.Metrics(), step.SamplesPerSecond);
}

/// <summary>Where a run's progress goes.</summary>
public interface ITaskProgress
{
    /// <summary>Called after every unit of work (an optimiser step, a shard); the receiver decides how often to pass it on.</summary>
    Task ReportAsync(TaskProgress progress);

    /// <summary>
    /// Says the run is alive between reports: called per evaluation batch, re-ranked query or decoded batch (through
    /// <see cref="TaskPulse"/>). Must be cheap; the worker notes the time, and fails a run that neither reports nor beats
    /// for its progress timeout.
    /// </summary>
    void Beat();
}

/// <summary>
/// The ports a task runs through (LAVIS's tasks get a runner and a config; ours get no more than they use): who it is,
/// its inputs as folders, its checkpoints, its progress, a work folder of its own and a log. The worker adapts a stage
/// run to them; a bench or a notebook uses <see cref="LocalTaskRun"/>.
/// </summary>
public sealed record TaskRun(
    RunIdentity Identity, ITaskInputs Inputs, ITaskCheckpoints Checkpoints, ITaskProgress Progress, string WorkDirectory, ILogger Logger)
{
    /// <summary>Where the run keeps what is worth computing once across runs; by default nothing is kept.</summary>
    public ITaskCaches Caches { get; init; } = TaskCaches.None;

    /// <summary>
    /// The collectives of this process's gang, connected by the worker, when the run is one rank of several processes
    /// training together (<see cref="RunIdentity.WorldSize"/> above 1); null for a run of one process.
    /// </summary>
    public ICollectives? Gang { get; init; }

    /// <summary>
    /// Cancelled when the run must stop at once, with no checkpoint (its worker lost it, or its watchdog found it
    /// stalled): training stops waiting for data or for the other ranks. The graceful stop is the task's cancellation token.
    /// </summary>
    public CancellationToken Aborted { get; init; }

    /// <summary>
    /// Replicas of the model this process trains on threads of its own when it is not a gang's rank (data parallel in one
    /// process, the gathers and gradient averaging as a gang's): what a bench or a test compares a gang with. 1 unless
    /// they ask for more; a gang's process trains one.
    /// </summary>
    public int Replicas { get; init; } = 1;
}

/// <summary>Which data shards this process trains: <paramref name="Count"/> replicas from rank <paramref name="FirstRank"/>, of <paramref name="WorldSize"/> in all.</summary>
public sealed record ShardLayout(int FirstRank, int Count, int WorldSize)
{
    /// <summary>One process alone.</summary>
    public static ShardLayout Single { get; } = new(0, 1, 1);

    /// <summary>The global ranks of this process's shards.</summary>
    public IEnumerable<int> Ranks => Enumerable.Range(FirstRank, Count);
}

/// <summary>
/// Folders a task computes once and reuses across epochs, stages and reruns (BLIP-2's frozen image features), found by
/// a key the task derives from everything the contents depend on.
/// </summary>
public interface ITaskCaches
{
    /// <summary>The folder of cache <paramref name="cache"/> under <paramref name="key"/>, verified; null when none was kept.</summary>
    Task<string?> FindAsync(string cache, string key, CancellationToken cancellationToken);

    /// <summary>Keeps <paramref name="directory"/> as cache <paramref name="cache"/> under <paramref name="key"/>; the folder stays the task's to read.</summary>
    Task KeepAsync(string cache, string key, string directory, IReadOnlyDictionary<string, double> metrics, CancellationToken cancellationToken);
}

/// <summary>Cache ports with nothing behind them.</summary>
public static class TaskCaches
{
    /// <summary>Finds nothing and keeps nothing: each run computes what it needs.</summary>
    public static ITaskCaches None { get; } = new NoCaches();

    private sealed class NoCaches : ITaskCaches
    {
        public Task<string?> FindAsync(string cache, string key, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

        public Task KeepAsync(string cache, string key, string directory, IReadOnlyDictionary<string, double> metrics, CancellationToken cancellationToken) =>
            Task.CompletedTask;
    }
}

/// <summary>What a task produced: a folder per output, by the stage kind's output names, and its final metrics.</summary>
public sealed record TaskResult(IReadOnlyDictionary<string, string> Outputs, IReadOnlyDictionary<string, double> Metrics)
{
    /// <summary>The result of a training task: its output <c>checkpoint</c>.</summary>
    public static TaskResult Checkpoint(string directory, IReadOnlyDictionary<string, double> metrics) =>
        new(new Dictionary<string, string> { ["checkpoint"] = directory }, metrics);

    /// <summary>What a gang rank other than 0 ends with: no outputs (rank 0 writes them), its last step's metrics.</summary>
    public static TaskResult RankFinished(IReadOnlyDictionary<string, double> metrics) => new(new Dictionary<string, string>(), metrics);
}
