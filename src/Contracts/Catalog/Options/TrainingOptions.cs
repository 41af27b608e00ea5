using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>
/// Options every training stage shares: the preset, the data's sizes, optimisation, checkpoints and seed. The model's
/// shape is not here: only a kind that builds its model from scratch has it (<see cref="BlipPretrainOptions"/>); a finetune
/// takes it from its <c>init</c> checkpoint.
/// </summary>
public abstract class TrainingOptions : IValidatableObject
{
    [Option("Preset: tiny (CPU), base, large. Sets the kind's shape options, where it has them, its data sizes and its training values; any of them can be overridden.")]
    public string Preset { get; set; } = "tiny";

    [Option("Input image side, in pixels. A finetune may change it from its init checkpoint's (the position embeddings are interpolated); it must stay a multiple of the patch side."), Range(16, 1024)]
    public int ImageSize { get; set; } = 32;

    [Option("Longest caption, in tokens."), Range(4, 512)]
    public int MaxTextLength { get; set; } = 24;

    [Option("Passes over the training data."), Range(1, 10_000)]
    public int Epochs { get; set; } = 3;

    [Option("Optimiser steps to train for, whatever the data's size: the data is passed over as often as that takes and epochs is not used. 0 leaves the length to epochs."), Range(0, 100_000_000)]
    public int MaxSteps { get; set; }

    [Option("Samples per step on each worker."), Range(1, 65_536)]
    public int BatchSize { get; set; } = 32;

    [Option("Peak learning rate."), Range(1e-8, 1.0)]
    public double LearningRate { get; set; } = 3e-4;

    [Option("Learning rate at the end of the schedule."), Range(0.0, 1.0)]
    public double MinLearningRate { get; set; } = 1e-6;

    [Option("AdamW weight decay."), Range(0.0, 1.0)]
    public double WeightDecay { get; set; } = 0.05;

    [Option("Linear warmup steps."), Range(0, 10_000_000)]
    public int WarmupSteps { get; set; } = 20;

    [Option("Decay after warmup.")]
    public LearningRateSchedule LrSchedule { get; set; } = LearningRateSchedule.Cosine;

    [Option("Gradient norm clip; 0 turns clipping off."), Range(0.0, 1e6)]
    public double GradClipNorm { get; set; } = 1.0;

    [Option("Micro-batches accumulated per optimiser step."), Range(1, 1024)]
    public int GradAccumulationSteps { get; set; } = 1;

    [Option("Steps between checkpoints (one is always written at the end)."), Range(1, 10_000_000)]
    public int CheckpointEverySteps { get; set; } = 200;

    [Option("Seed of initialisation, sampling and augmentation.")]
    public int Seed { get; set; }

    [Option("What an unusable data entry does: fail the stage, or skip it and count it.")]
    public BadDataPolicy OnBadData { get; set; } = BadDataPolicy.Fail;

    public virtual IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MinLearningRate > LearningRate)
        {
            yield return new ValidationResult(
                $"min_learning_rate {MinLearningRate} is above learning_rate {LearningRate}; lower it", [nameof(MinLearningRate)]);
        }
    }
}
