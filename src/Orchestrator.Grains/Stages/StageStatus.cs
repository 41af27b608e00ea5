namespace Orchestrator.Grains.Stages;

/// <summary>Where a stage is in its lifecycle.</summary>
[GenerateSerializer, Alias("StageStatus")]
public enum StageStatus
{
    /// <summary>Waiting for its inputs (or for a resume after an upstream failure).</summary>
    Pending,

    /// <summary>Its inputs are available; a run waits for workers, or for its retry backoff.</summary>
    Queued,

    Running,
    Succeeded,
    Failed,
    Cancelled,

    /// <summary>Never ran, because its experiment was cancelled first.</summary>
    Skipped,
}

/// <summary>Status queries shared by the grains.</summary>
public static class StageStatusExtensions
{
    public static bool IsActive(this StageStatus status) => status is StageStatus.Queued or StageStatus.Running;

    public static bool IsTerminal(this StageStatus status) =>
        status is StageStatus.Succeeded or StageStatus.Failed or StageStatus.Cancelled or StageStatus.Skipped;
}
