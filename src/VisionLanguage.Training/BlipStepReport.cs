
namespace VisionLanguage.Training;

/// <summary>Where a run is: optimiser steps taken, the current epoch, and the micro-batches of it each replica has read.</summary>
public sealed record TrainingPosition(long Step, int Epoch, long BatchInEpoch);

/// <summary>One optimiser step, as rank 0 reports it; losses are averaged over replicas and micro-batches.</summary>
public sealed record BlipStepReport
{
    /// <summary>Steps taken, this one included.</summary>
    public required long Step { get; init; }

    public required long TotalSteps { get; init; }

    public required int Epoch { get; init; }

    /// <summary>The sum of the enabled objectives' losses.</summary>
    public required double Loss { get; init; }

    /// <summary>Null when ITC is not trained; likewise for the other losses.</summary>
    public required double? LossItc { get; init; }

    public required double? LossItm { get; init; }

    public required double? LossLm { get; init; }

    public required double LearningRate { get; init; }

    /// <summary>Global gradient norm before clipping.</summary>
    public required double GradNorm { get; init; }

    /// <summary>ITC temperature; null without ITC.</summary>
    public required double? Temperature { get; init; }

    /// <summary>Ramped distillation weight; null without ITC.</summary>
    public required double? Alpha { get; init; }

    /// <summary>Pairs per second over all replicas, for this step.</summary>
    public required double SamplesPerSecond { get; init; }

    /// <summary>Wall time of the step, waiting for data included.</summary>
    public required double StepSeconds { get; init; }

    /// <summary>Share of the step spent waiting for batches (rank 0).</summary>
    public required double DataWaitShare { get; init; }

    /// <summary>The metrics as reported to the orchestrator; those of objectives not trained are left out.</summary>
    public IReadOnlyDictionary<string, double> Metrics()
    {
        var metrics = new Dictionary<string, double> { [ProgressMetricKeys.Loss] = Loss };
        var optional = new (string Objective, double? Value)[]
        {
            ("itc", LossItc), ("itm", LossItm), ("lm", LossLm),
        };
        foreach (var (objective, value) in optional)
        {
            if (value is { } present)
            {
                metrics[ProgressMetricKeys.LossPrefix + objective] = present;
            }
        }

        metrics[ProgressMetricKeys.LearningRate] = LearningRate;
        metrics["grad_norm"] = GradNorm;
        if (Temperature is { } temperature && Alpha is { } alpha)
        {
            metrics["temp"] = temperature;
            metrics["alpha"] = alpha;
        }

        metrics[ProgressMetricKeys.SamplesPerSecond] = SamplesPerSecond;
        metrics[ProgressMetricKeys.StepSeconds] = StepSeconds;
        metrics[ProgressMetricKeys.DataWaitShare] = DataWaitShare;
        return metrics;
    }
}

/// <summary>
/// What <see cref="BlipTrainer.TrainAsync"/> tells its caller. Both run on rank 0's thread between steps, while the
/// other replicas wait at their next collective, so a slow hook slows training rather than racing it.
/// </summary>
public sealed record BlipTrainingHooks
{
    /// <summary>After every optimiser step.</summary>
    public Func<BlipStepReport, Task>? StepCompleted { get; init; }

    /// <summary>
    /// After a checkpoint was written into a fresh folder under <see cref="CheckpointRoot"/>: commit it. The folder is
    /// the hook's to keep or delete.
    /// </summary>
    public Func<string, TrainingPosition, IReadOnlyDictionary<string, double>, Task>? CheckpointWritten { get; init; }

    /// <summary>Where checkpoint folders are written; checkpoints are skipped when null.</summary>
    public string? CheckpointRoot { get; init; }
}
