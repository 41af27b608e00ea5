namespace Orchestrator.Contracts.Catalog.Options;

/// <summary>The learning-rate decay after warmup.</summary>
public enum LearningRateSchedule
{
    Cosine,
    Step,
}
