namespace Orchestrator.Grains.Experiments;

/// <summary>Where an experiment is as a whole.</summary>
[GenerateSerializer, Alias("ExperimentStatus")]
public enum ExperimentStatus
{
    Pending,
    Running,
    Succeeded,

    /// <summary>A stage failed for good and nothing else can progress until the experiment is resumed.</summary>
    Failed,

    Cancelled,
}
