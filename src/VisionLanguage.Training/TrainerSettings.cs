namespace VisionLanguage.Training;

/// <summary>How the training loop (<see cref="Trainer{TModel, TBatch}"/>) optimises: schedule, clipping, accumulation, checkpoints and seeds.</summary>
public sealed record TrainerSettings
{
    /// <summary>Passes over the data.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Optimiser steps to train for, in as many passes over the data as that takes; 0 leaves it to <see cref="Epochs"/>.</summary>
    public int MaxSteps { get; init; }

    /// <summary>Peak learning rate (LAVIS init_lr 3e-4 for BLIP pretraining).</summary>
    public double LearningRate { get; init; } = 3e-4;

    /// <summary>Learning rate at the start of warmup and at the end of the decay (LAVIS min_lr and warmup_lr, 1e-6).</summary>
    public double MinLearningRate { get; init; } = 1e-6;

    /// <summary>AdamW weight decay of the decayed group (LAVIS 0.05).</summary>
    public double WeightDecay { get; init; } = 0.05;

    /// <summary>Optimiser steps of linear warmup.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>Decay after warmup.</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Cosine;

    /// <summary>Global gradient-norm clip; 0 turns clipping off (the norm is still reported).</summary>
    public double GradClipNorm { get; init; } = 1.0;

    /// <summary>Micro-batches per optimiser step on each replica.</summary>
    public int GradAccumulationSteps { get; init; } = 1;

    /// <summary>Optimiser steps between checkpoints; one is also written at the end.</summary>
    public int CheckpointEverySteps { get; init; } = 200;

    /// <summary>Seed of the weights, of each replica's dropout and sampled negatives, and (recorded for the data side) of the sampler.</summary>
    public int Seed { get; init; }
}
