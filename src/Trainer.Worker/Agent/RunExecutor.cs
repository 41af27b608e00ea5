using Microsoft.Extensions.Logging;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Catalog;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Observability;
using Trainer.Worker.Runners;
using Trainer.Worker.Runners.Gangs;

namespace Trainer.Worker.Agent;

/// <summary>
/// Runs one run that has its slot: finds the runner for its kind, binds its options, gives it a context and an
/// empty work folder, reports it started, and turns whatever happens into the run's final report. The
/// <see cref="WorkerAgent"/> decides when a run executes and sends that report.
/// </summary>
internal sealed class RunExecutor(
    WorkerOptions options,
    Lazy<WorkerCapacityInfo> capacity,
    StageRunnerRegistry registry,
    ReportPublisher publisher,
    IArtifactStore store,
    CheckpointResolver checkpoints,
    TimeProvider timeProvider,
    WorkerMetrics metrics,
    IGangRendezvous rendezvous,
    ILoggerFactory loggerFactory)
{
    private readonly ILogger<RunExecutor> _logger = loggerFactory.CreateLogger<RunExecutor>();

    /// <summary>The run's final report, <see cref="StageRunCompleted"/> or <see cref="StageRunFailed"/>; never throws.</summary>
    public async Task<IStageRunMessage> ExecuteAsync(RunEntry entry)
    {
        var workDirectory = Path.Combine(options.WorkDirectory, WorkFolderName(entry.Run));
        try
        {
            return await RunAsync(entry, workDirectory);
        }
        finally
        {
            // Whatever the run keeps is committed to the store by now; its local copy would only fill the disk.
            DeleteWorkDirectory(workDirectory);
        }
    }

    public static StageRunFailed Failure(StartStageRun run, RunStop failure, ArtifactReference? lastCheckpoint) => new()
    {
        RunId = run.RunId,
        ExperimentId = run.ExperimentId,
        StageId = run.StageId,
        Error = failure.Error,
        Retryable = failure.Retryable,
        LastCheckpoint = lastCheckpoint,
    };

    private async Task<IStageRunMessage> RunAsync(RunEntry entry, string workDirectory)
    {
        var run = entry.Run;
        using var series = metrics.StartRun(run);
        try
        {
            var (kind, runner) = registry.Find(run.Kind);
            var bound = OptionsBinder.Read<object>(kind, run.OptionsJson);
            if (Directory.Exists(workDirectory))
            {
                Directory.Delete(workDirectory, recursive: true);
            }

            Directory.CreateDirectory(workDirectory);
            var device = capacity.Value.Device;
            entry.Context = new StageRunContext(
                run, kind, bound, device, workDirectory, store, checkpoints, publisher, timeProvider, options.ProgressInterval,
                loggerFactory.CreateLogger(runner.GetType()), entry.Abort.Token, series)
            {
                CacheRetention = new CacheRetention(options.CacheMaxAge, options.CacheMaxBytes),
                Rendezvous = rendezvous,
                Gang = options.Gang,
            };

            await publisher.PublishAsync(new StageRunStarted
            {
                RunId = run.RunId,
                ExperimentId = run.ExperimentId,
                StageId = run.StageId,
                WorkerId = options.WorkerId,
                Rank = run.Rank,
            }, entry.Abort.Token);
            _logger.LogInformation("Run started: {Kind}, attempt {Attempt}, rank {Rank} of {WorldSize}, on {Device}, resuming from {ResumeFrom}",
                run.Kind, run.Attempt, run.Rank, run.WorldSize, device, run.ResumeFrom?.Uri ?? "nothing");

            var result = await runner.RunAsync(entry.Context, entry.Cancellation.Token);
            return Completion(run, kind, result);
        }
        catch (Exception exception)
        {
            // A run asked to stop is reported as stopped, whatever the runner threw on its way out.
            if (entry.Stop is { } stop)
            {
                if (exception is not OperationCanceledException)
                {
                    _logger.LogWarning(exception, "The run threw while stopping");
                }

                return Failure(run, stop, entry.LastCheckpoint);
            }

            var (error, retryable) = RunFailures.Classify(exception);
            _logger.LogError(exception, "The run failed ({Failure})", retryable ? "retryable" : "permanent");
            return Failure(run, new RunStop(error, retryable), entry.LastCheckpoint);
        }
    }

    private static StageRunCompleted Completion(StartStageRun run, StageKind kind, StageRunResult result)
    {
        var undeclared = result.Outputs.Keys.Where(name => kind.FindOutput(name) is null).ToList();
        if (undeclared.Count > 0)
        {
            throw new InvalidOperationException(
                $"the runner returned output(s) {string.Join(", ", undeclared.Select(name => $"'{name}'"))}, which kind {kind.Name} does not declare; " +
                $"its outputs: {string.Join(", ", kind.Outputs.Select(output => output.Name))}");
        }

        return new StageRunCompleted
        {
            RunId = run.RunId,
            ExperimentId = run.ExperimentId,
            StageId = run.StageId,
            Outputs = result.Outputs,
            Metrics = result.Metrics,
            Rank = run.Rank,
        };
    }

    private void DeleteWorkDirectory(string workDirectory)
    {
        try
        {
            if (Directory.Exists(workDirectory))
            {
                Directory.Delete(workDirectory, recursive: true);
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning(exception, "The run's work folder {WorkDirectory} could not be removed", workDirectory);
        }
    }

    /// <summary>
    /// The run's folder: <c>run-ID</c>, and <c>run-ID-rank-R</c> for a gang's rank R above 0, so the ranks of one gang
    /// on workers that share a work directory never write or delete each other's files. Run ids come from the
    /// orchestrator; only characters that are safe in a folder name are kept.
    /// </summary>
    internal static string WorkFolderName(StartStageRun run) =>
        "run-" + string.Concat(run.RunId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'))
        + (run.Rank > 0 ? $"-rank-{run.Rank}" : "");
}
