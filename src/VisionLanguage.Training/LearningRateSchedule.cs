namespace VisionLanguage.Training;

/// <summary>The learning-rate decay after warmup.</summary>
public enum LearningRateSchedule
{
    /// <summary>Cosine from the peak to the minimum over the remaining steps (LAVIS linear_warmup_cosine_lr).</summary>
    Cosine,

    /// <summary>The peak times a fixed rate per epoch, never below the minimum (LAVIS linear_warmup_step_lr).</summary>
    Step,
}
