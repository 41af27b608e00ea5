using Orchestrator.Contracts.Messages;
using VisionLanguage.Training.Distributed;
using VisionLanguage.Tasks.Running;
using static TorchSharp.torch;

namespace Trainer.Worker.Runners;

/// <summary>
/// A stage run seen through a task's ports: the run's rank, gang size and device; its inputs fetched as folders; its
/// checkpoints resumed from and committed to the artifact store; its caches found in and kept there; its progress reported to the orchestrator. What a
/// runner adds to a task is the stage kind's options and the output's commit.
/// </summary>
internal sealed class StageTaskPorts(StageRunContext context) : ITaskInputs, ITaskCheckpoints, ITaskProgress, ITaskCaches
{
    /// <summary>
    /// Runs <paramref name="task"/> on the ports of <paramref name="context"/> and commits each folder it returns as the
    /// kind's output of that name, with the task's metrics.
    /// </summary>
    public static async Task<StageRunResult> RunAsync(
        StageRunContext context, Func<TaskRun, CancellationToken, Task<TaskResult>> task, CancellationToken cancellationToken)
    {
        var ports = new StageTaskPorts(context);
        var identity = new RunIdentity(context.Kind.Name, context.Run.Rank, context.Run.WorldSize, device(context.Device));
        var gang = await context.ConnectGangAsync(cancellationToken);
        TaskResult result;
        try
        {
            // A run stopped hard (lost, out of time) releases its rank from any collective at once; the others fail with it.
            using var abort = gang is null ? default : context.Aborted.Register(gang.Abort);
            result = await task(new TaskRun(identity, ports, ports, ports, context.WorkDirectory, context.Logger) { Caches = ports, Gang = gang, Aborted = context.Aborted }, cancellationToken);
        }
        catch (CollectiveFailedException exception)
        {
            // The gang's generation is over; the stage retries the whole gang from its last checkpoint.
            throw new RetryableStageException($"the gang's collectives failed: {exception.Message}", exception);
        }
        finally
        {
            (gang as IDisposable)?.Dispose();
        }

        var outputs = new Dictionary<string, ArtifactReference>(StringComparer.Ordinal);
        foreach (var (name, directory) in result.Outputs)
        {
            outputs[name] = await context.CommitOutputAsync(name, directory, result.Metrics, cancellationToken);
        }

        return new StageRunResult { Outputs = outputs, Metrics = result.Metrics };
    }

    public async Task<IReadOnlyList<InputFolder>> FetchAsync(string name, CancellationToken cancellationToken) =>
        [.. (await context.FetchInputAsync(name, cancellationToken)).Select(artifact => new InputFolder(artifact.Manifest.Draft.Name, artifact.Directory, artifact.Manifest.Reference.ContentDigest))];

    public async Task<string?> ResumeFolderAsync(CancellationToken cancellationToken) =>
        (await context.FetchResumeCheckpointAsync(cancellationToken))?.Directory;

    public Task SaveAsync(string directory, long step, IReadOnlyDictionary<string, double> metrics) =>
        context.SaveCheckpointAsync(directory, step, metrics);

    public async Task<string?> FindAsync(string cache, string key, CancellationToken cancellationToken) =>
        (await context.FindCacheAsync(cache, key, cancellationToken))?.Directory;

    public Task KeepAsync(string cache, string key, string directory, IReadOnlyDictionary<string, double> metrics, CancellationToken cancellationToken) =>
        context.KeepCacheAsync(cache, key, directory, metrics, cancellationToken);

    public Task ReportAsync(TaskProgress progress) =>
        context.ReportProgressAsync(progress.Step, progress.TotalSteps, progress.Epoch, progress.Metrics, progress.SamplesPerSecond);

    public void Beat() => context.Beat();
}
