using Microsoft.Extensions.Logging;
using TorchSharp;
using VisionLanguage.Data;
using VisionLanguage.Models;
using VisionLanguage.Training;
using static TorchSharp.torch;

namespace VisionLanguage.Tasks.Running;

/// <summary>
/// What every training task does the same way, once: the checks of where it runs, the restore (the run's own
/// checkpoint, else the weights of input <c>init</c>), the loop with checkpoints and progress going to the run's ports,
/// and the output checkpoint.
/// </summary>
public static class TaskTraining
{
    /// <summary>
    /// The device to build the model on: the run's (<c>cuda:0</c> on a CUDA worker, which sees only its own GPU). Refuses a
    /// gang unless the task <paramref name="trainsAsGang"/> and the worker connected the gang's collectives, and a CUDA
    /// device that this process's libtorch cannot reach.
    /// </summary>
    public static Device ModelDevice(TaskRun run, bool trainsAsGang = false)
    {
        if (run.Identity.WorldSize > 1 && !trainsAsGang)
        {
            throw new NotSupportedException(
                $"{run.Identity.Kind} runs on one worker; this run asks for a gang of {run.Identity.WorldSize}; request workers: 1");
        }

        if (run.Identity.WorldSize > 1 && run.Gang is null)
        {
            throw new InvalidOperationException(
                $"this run is rank {run.Identity.Rank} of a gang of {run.Identity.WorldSize}, but the worker connected no collectives for it");
        }

        return RunDevice(run);
    }

    /// <summary>Where a run's models compute, training or not (<see cref="ResolveDevice"/> of the run's device).</summary>
    public static Device RunDevice(TaskRun run) => ResolveDevice(run.Identity.Device, cuda.is_available());

    /// <summary>
    /// Where a run placed on <paramref name="requested"/> computes: a CUDA device without an index is <c>cuda:0</c> (a CUDA
    /// worker sees only its own GPU, as <c>CUDA_VISIBLE_DEVICES</c> sets); CUDA is refused where
    /// <paramref name="cudaAvailable"/> is false, naming the fix; any other device is taken as it is.
    /// </summary>
    public static Device ResolveDevice(Device requested, bool cudaAvailable)
    {
        if (requested.type != DeviceType.CUDA)
        {
            return requested;
        }

        if (!cudaAvailable)
        {
            throw new InvalidOperationException(
                $"this run is placed on {requested}, but this process's libtorch sees no CUDA device; run it on a worker built with " +
                "TorchSharp's CUDA package on a machine with a GPU, or give the worker the CPU device");
        }

        return requested.index < 0 ? new Device(DeviceType.CUDA, 0) : requested;
    }

    /// <summary>
    /// Replicas this process trains: one in a gang (the others are the gang's processes), else the run's
    /// <see cref="TaskRun.Replicas"/> on threads (1 but for a bench or a test; more pays off only with a device per replica).
    /// </summary>
    public static int Replicas(TaskRun run) => run.Gang is null ? run.Replicas : 1;

    /// <summary>The data shards this process trains: its rank's in a gang, else one per replica.</summary>
    public static ShardLayout Layout(TaskRun run) =>
        run.Gang is { } gang ? new ShardLayout(gang.Rank, 1, gang.WorldSize) : new ShardLayout(0, Replicas(run), Replicas(run));

    /// <summary>
    /// The batch each shard of <paramref name="layout"/> reads: the stage's <c>batch_size</c>, the global batch, split
    /// evenly over the replicas, so a stage's options mean the same whatever its gang size.
    /// </summary>
    public static int BatchPerReplica(int batchSize, ShardLayout layout)
    {
        if (batchSize % layout.WorldSize != 0)
        {
            throw new InvalidOperationException($"batch_size {batchSize} must be a multiple of the {layout.WorldSize} replicas training it");
        }

        return batchSize / layout.WorldSize;
    }

    /// <summary>
    /// A folder of the run's work directory for what each rank of a gang computes for itself (a tokenizer, frozen
    /// features): <paramref name="name"/> for rank 0, <c>name-rank-R</c> for rank R, so ranks whose workers share a work
    /// directory never write the same files.
    /// </summary>
    public static string RankFolder(TaskRun run, string name) =>
        Path.Combine(run.WorkDirectory, run.Identity.Rank == 0 ? name : $"{name}-rank-{run.Identity.Rank}");

    /// <summary>
    /// Whether this process evaluates and exports the run's outputs: rank 0 does; the gang's other ranks only train,
    /// and finish with no outputs once training is done.
    /// </summary>
    public static bool WritesOutputs(TaskRun run) => run.Identity.Rank == 0;

    /// <summary>
    /// Restores <paramref name="trainer"/> exactly from the run's checkpoint when it has one, else from the weights of
    /// <paramref name="init"/> when given, then trains to the end, saving checkpoints and reporting progress through
    /// the run's ports.
    /// </summary>
    public static async Task<TrainingSummary> TrainAsync<TModel, TBatch>(
        TaskRun run, Trainer<TModel, TBatch> trainer, IReadOnlyList<IBatchSource<TBatch>> shards, InputFolder? init, CancellationToken cancellationToken)
        where TModel : class, ITrainableModel<TBatch>
        where TBatch : IDisposable
    {
        await RestoreAsync(run, trainer, init, cancellationToken);
        var hooks = new TrainingHooks
        {
            CheckpointRoot = Path.Combine(run.WorkDirectory, "checkpoints"),
            StepCompleted = step => run.Progress.ReportAsync(TaskProgress.Of(step)),
            CheckpointWritten = async (directory, position, metrics) =>
            {
                await run.Checkpoints.SaveAsync(directory, position.Step, metrics);
                Directory.Delete(directory, recursive: true);
            },
        };
        var summary = await trainer.TrainAsync(shards, hooks, cancellationToken: cancellationToken, abort: run.Aborted);
        run.Logger.LogInformation("{Kind} finished at step {Step} of {Total}", run.Identity.Kind, summary.Position.Step, summary.TotalSteps);
        return summary;
    }

    /// <summary>
    /// Writes the output checkpoint into the run's <c>output</c> folder: what later stages need (weights, and the state
    /// with the model's shape and tokens), not the optimiser's moments.
    /// </summary>
    public static string ExportCheckpoint<TModel, TBatch>(TaskRun run, Trainer<TModel, TBatch> trainer, IReadOnlyDictionary<string, double> metrics)
        where TModel : class, ITrainableModel<TBatch>
        where TBatch : IDisposable
    {
        var output = Path.Combine(run.WorkDirectory, "output");
        trainer.SaveCheckpoint(output, metrics);
        File.Delete(Path.Combine(output, CheckpointFiles.Optimizer));
        return output;
    }

    /// <summary>The metrics of the last step, to which evaluation adds its own.</summary>
    public static Dictionary<string, double> FinalMetrics(TrainingSummary summary) => new(summary.LastStep?.Metrics() ?? new Dictionary<string, double>());

    private static async Task RestoreAsync<TModel, TBatch>(TaskRun run, Trainer<TModel, TBatch> trainer, InputFolder? init, CancellationToken cancellationToken)
        where TModel : class, ITrainableModel<TBatch>
        where TBatch : IDisposable
    {
        if (await run.Checkpoints.ResumeFolderAsync(cancellationToken) is { } resume)
        {
            var exact = trainer.LoadCheckpoint(resume);
            run.Logger.LogInformation(
                "Resumed at step {Step} (epoch {Epoch}, batch {Batch}){Exactness}", trainer.Position.Step, trainer.Position.Epoch,
                trainer.Position.BatchInEpoch, exact ? "" : " with reseeded generators: the checkpoint had another number of replicas");
            return;
        }

        if (init is not null)
        {
            var report = trainer.LoadInitialWeights(Path.Combine(init.Directory, CheckpointFiles.Weights));
            // A model that takes many tensors under other names (NLVR2's twin cross-attentions) adapts hundreds: the first few say what.
            const int Shown = 8;
            var adapted = string.Join("; ", report.Adapted.Take(Shown)) + (report.Adapted.Count > Shown ? $"; and {report.Adapted.Count - Shown} more" : "");
            run.Logger.LogInformation(
                "Started from {Init}: {Missing} tensors kept fresh, {Unexpected} ignored, adapted: {Adapted}",
                init.Name, report.Missing.Count, report.Unexpected.Count, adapted);
        }
    }
}
