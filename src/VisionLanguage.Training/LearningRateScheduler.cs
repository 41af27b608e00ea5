
namespace VisionLanguage.Training;

/// <summary>
/// The learning rate of each optimiser step: a linear warmup from the minimum to the peak over the first steps (LAVIS
/// <c>warmup_lr_schedule</c>, with the minimum as warmup_lr), then either a cosine decay to the minimum at the last step,
/// or LAVIS's step decay (peak × 0.9^epoch, floored at the minimum).
/// </summary>
public sealed class LearningRateScheduler(
    double peak, double minimum, long warmupSteps, long totalSteps, LearningRateSchedule schedule, double stepDecayRate = LearningRateScheduler.LavisStepDecayRate)
{
    /// <summary>LAVIS's <c>lr_decay_rate</c> for BLIP pretraining.</summary>
    public const double LavisStepDecayRate = 0.9;

    /// <summary>The rate for 0-based step <paramref name="step"/> of the run, in <paramref name="epoch"/>.</summary>
    public double At(long step, int epoch)
    {
        if (step < warmupSteps)
        {
            return minimum + (peak - minimum) * step / warmupSteps;
        }

        return schedule switch
        {
            LearningRateSchedule.Step => Math.Max(minimum, peak * Math.Pow(stepDecayRate, epoch)),
            _ => Cosine(step),
        };
    }

    private double Cosine(long step)
    {
        var span = Math.Max(1, totalSteps - warmupSteps);
        var progress = Math.Min(1.0, (double)(step - warmupSteps) / span);
        return minimum + (peak - minimum) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
