namespace VisionLanguage.Tasks.Running;

/// <summary>
/// What a loop outside the training loop (an evaluation, a decoding pass, a feature cache being filled) does once per unit
/// of work: stop when the run is asked to, as the trainer does at its step boundaries (these loops have nothing to
/// checkpoint: a retry resumes from the training's last checkpoint), and tell the run's progress port it is alive, so a
/// long evaluation is not taken for a hung run. The default does neither, for tests and benches.
/// </summary>
/// <param name="Progress">Where the beats go; null sends none.</param>
/// <param name="CancellationToken">The run's token.</param>
public readonly record struct TaskPulse(ITaskProgress? Progress, CancellationToken CancellationToken)
{
    /// <summary>The pulse of <paramref name="run"/> under <paramref name="cancellationToken"/>.</summary>
    public static TaskPulse Of(TaskRun run, CancellationToken cancellationToken) => new(run.Progress, cancellationToken);

    /// <summary>Throws <see cref="OperationCanceledException"/> when the run was asked to stop, else tells its progress port it is alive.</summary>
    public void Beat()
    {
        CancellationToken.ThrowIfCancellationRequested();
        Progress?.Beat();
    }
}
