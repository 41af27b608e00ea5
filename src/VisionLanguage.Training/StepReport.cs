namespace VisionLanguage.Training;

/// <summary>Where a run is: optimiser steps taken, the current epoch, and the micro-batches of it each replica has read.</summary>
public sealed record TrainingPosition(long Step, int Epoch, long BatchInEpoch);

/// <summary>One optimiser step, as a process's first replica reports it; losses are averaged over every rank and micro-batch.</summary>
public sealed record StepReport
{
    /// <summary>Steps taken, this one included.</summary>
    public required long Step { get; init; }

    public required long TotalSteps { get; init; }

    public required int Epoch { get; init; }

    /// <summary>The sum of the objectives' losses.</summary>
    public required double Loss { get; init; }

    /// <summary>Each objective's loss, in the model's order, e.g. itc, itm, lm.</summary>
    public required IReadOnlyList<(string Objective, double Value)> Losses { get; init; }

    public required double LearningRate { get; init; }

    /// <summary>Global gradient norm before clipping.</summary>
    public required double GradNorm { get; init; }

    /// <summary>The model's own metrics of the step (e.g. ITC's temperature and ramped distillation weight).</summary>
    public IReadOnlyDictionary<string, double> ModelMetrics { get; init; } = new Dictionary<string, double>();

    /// <summary>Pairs per second over all replicas, for this step.</summary>
    public required double SamplesPerSecond { get; init; }

    /// <summary>Wall time of the step, waiting for data included.</summary>
    public required double StepSeconds { get; init; }

    /// <summary>Share of the step spent waiting for batches (rank 0).</summary>
    public required double DataWaitShare { get; init; }

    /// <summary>Share of the step spent averaging gradients across the gang; null when training alone.</summary>
    public double? AllReduceShare { get; init; }

    /// <summary>The rank whose step this is: every rank times its own step; losses and norms are the gang's.</summary>
    public int Rank { get; init; }

    /// <summary>The loss of <paramref name="objective"/>, or null when the model does not train it.</summary>
    public double? LossOf(string objective) =>
        Losses.Where(loss => loss.Objective == objective).Select(loss => (double?)loss.Value).FirstOrDefault();

    /// <summary>The metrics as reported to the orchestrator.</summary>
    public IReadOnlyDictionary<string, double> Metrics()
    {
        var metrics = new Dictionary<string, double> { [ProgressMetricKeys.Loss] = Loss };
        foreach (var (objective, value) in Losses)
        {
            metrics[ProgressMetricKeys.LossPrefix + objective] = value;
        }

        metrics[ProgressMetricKeys.LearningRate] = LearningRate;
        metrics["grad_norm"] = GradNorm;
        foreach (var (name, value) in ModelMetrics)
        {
            metrics[name] = value;
        }

        metrics[ProgressMetricKeys.SamplesPerSecond] = SamplesPerSecond;
        metrics[ProgressMetricKeys.StepSeconds] = StepSeconds;
        metrics[ProgressMetricKeys.DataWaitShare] = DataWaitShare;
        if (AllReduceShare is { } allReduceShare)
        {
            metrics[ProgressMetricKeys.AllReduceShare] = allReduceShare;
        }

        return metrics;
    }
}

/// <summary>
/// What the training loop tells its caller, on the thread of the process's first replica between steps, while the
/// other replicas wait at their next collective, so a slow hook slows training rather than racing it. In a gang every
/// process hears of its steps (<see cref="StepReport.Rank"/> says whose); only global rank 0 writes checkpoints.
/// </summary>
public sealed record TrainingHooks
{
    /// <summary>After every optimiser step.</summary>
    public Func<StepReport, Task>? StepCompleted { get; init; }

    /// <summary>
    /// After a checkpoint was written into a fresh folder under <see cref="CheckpointRoot"/>: commit it. The folder is
    /// the hook's to keep or delete.
    /// </summary>
    public Func<string, TrainingPosition, IReadOnlyDictionary<string, double>, Task>? CheckpointWritten { get; init; }

    /// <summary>Where checkpoint folders are written; checkpoints are skipped when null.</summary>
    public string? CheckpointRoot { get; init; }
}
