namespace VisionLanguage.Training;

/// <summary>
/// The progress metric names that mean the same thing in every training run (<see cref="StepReport.Metrics"/>):
/// a worker reports them as the run's progress and exports them as its per-run training series. Other names are
/// reported to the orchestrator only.
/// </summary>
public static class ProgressMetricKeys
{
    /// <summary>The training loss, all objectives together.</summary>
    public const string Loss = "loss";

    /// <summary>Starts the loss of one objective, e.g. <c>loss_itc</c>; what follows names the objective.</summary>
    public const string LossPrefix = "loss_";

    public const string LearningRate = "lr";

    /// <summary>The learnable contrastive temperature of a model that has one (BLIP's and BLIP-2's ITC).</summary>
    public const string Temperature = "temp";

    /// <summary>Training samples per second over all replicas.</summary>
    public const string SamplesPerSecond = "samples_per_s";

    /// <summary>Wall time of the last step in seconds, waiting for data included.</summary>
    public const string StepSeconds = "step_s";

    /// <summary>The share (0 to 1) of the last step spent waiting for data.</summary>
    public const string DataWaitShare = "data_wait_share";

    /// <summary>The share (0 to 1) of a model's parameters that train, frozen ones counted (BLIP-2 stage 2's LLM).</summary>
    public const string TrainableShare = "trainable_share";

    /// <summary>Tokens generated per second by an evaluation that generates text (captions, answers) through a model.</summary>
    public const string GenerationTokensPerSecond = "generation_tokens_per_s";

    /// <summary>Share of a step spent averaging gradients across the gang's processes (only in a gang).</summary>
    public const string AllReduceShare = "allreduce_share";
}
