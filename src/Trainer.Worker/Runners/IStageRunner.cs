namespace Trainer.Worker.Runners;

/// <summary>
/// Runs one stage kind on this worker. The agent binds the run's options, gives it a <see cref="StageRunContext"/>
/// and reports what comes back: a <see cref="StageRunResult"/> completes the run; an exception fails it, retryably
/// for <see cref="RetryableStageException"/>, <see cref="IOException"/> and <see cref="TimeoutException"/>,
/// permanently for anything else.
/// </summary>
public interface IStageRunner
{
    /// <summary>The stage kind this runner runs, as named in the stage-kind catalog, e.g. <c>blip.pretrain</c>.</summary>
    string Kind { get; }

    /// <summary>
    /// Runs the stage. When <paramref name="cancellationToken"/> is cancelled (a cancel, or the worker draining),
    /// the runner stops within seconds, saves a checkpoint with <see cref="StageRunContext.SaveCheckpointAsync"/>
    /// and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    Task<StageRunResult> RunAsync(StageRunContext context, CancellationToken cancellationToken);
}
