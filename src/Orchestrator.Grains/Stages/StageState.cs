using Orchestrator.Grains.Artifacts;

namespace Orchestrator.Grains.Stages;

/// <summary>A stage's durable state: its definition, lifecycle, attempts, outputs and latest progress.</summary>
[GenerateSerializer, Alias("StageState")]
public sealed class StageState
{
    [Id(0)] public StageDefinition? Definition { get; set; }
    [Id(1)] public StageStatus Status { get; set; }
    [Id(2)] public List<StageAttempt> Attempts { get; set; } = [];

    /// <summary>The run whose reports are accepted; any other run id is stale.</summary>
    [Id(3)] public string? CurrentRunId { get; set; }

    /// <summary>The newest checkpoint of the stage across attempts; a retry or resume starts from it.</summary>
    [Id(4)] public ArtifactRef? LastCheckpoint { get; set; }

    [Id(5)] public Dictionary<string, ArtifactRef> Outputs { get; set; } = [];

    /// <summary>The artifacts bound to each input when the stage was queued.</summary>
    [Id(6)] public Dictionary<string, List<ArtifactRef>> Inputs { get; set; } = [];

    [Id(7)] public StageProgress? Progress { get; set; }
    [Id(8)] public Dictionary<string, double> Metrics { get; set; } = [];

    /// <summary>When the backoff before the next retry ends; null when no retry is waiting.</summary>
    [Id(9)] public DateTimeOffset? RetryAt { get; set; }

    /// <summary>Attempts since the stage was last queued from Pending; the retry policy's budget counts these.</summary>
    [Id(10)] public int AttemptsInBudget { get; set; }

    [Id(11)] public long StaleReports { get; set; }
    [Id(12)] public long DuplicateReports { get; set; }

    /// <summary>Counts status changes, so the experiment can tell a late notification from a newer one.</summary>
    [Id(13)] public long Version { get; set; }

    [Id(14)] public DateTimeOffset ChangedAt { get; set; }

    /// <summary>The W3C trace context of the experiment's submission, which every run's trace links to; null when it was not traced.</summary>
    [Id(15)] public string? SubmissionTrace { get; set; }

    public StageAttempt? CurrentAttempt =>
        CurrentRunId is null ? null : Attempts.LastOrDefault(attempt => attempt.RunId == CurrentRunId);
}

/// <summary>One attempt at running a stage.</summary>
[GenerateSerializer, Alias("StageAttempt")]
public sealed class StageAttempt
{
    [Id(0)] public required int Attempt { get; set; }
    [Id(1)] public required string RunId { get; set; }
    [Id(2)] public required DateTimeOffset QueuedAt { get; set; }
    [Id(3)] public DateTimeOffset? AssignedAt { get; set; }
    [Id(4)] public DateTimeOffset? StartedAt { get; set; }
    [Id(5)] public DateTimeOffset? EndedAt { get; set; }
    [Id(6)] public List<string> WorkerIds { get; set; } = [];

    /// <summary>How the attempt ended: Succeeded, Failed or Cancelled; null while it runs.</summary>
    [Id(7)] public StageStatus? Outcome { get; set; }

    [Id(8)] public string? Error { get; set; }
    [Id(9)] public bool? Retryable { get; set; }
    [Id(10)] public ArtifactRef? ResumedFrom { get; set; }
    [Id(11)] public ArtifactRef? LastCheckpoint { get; set; }
    [Id(12)] public Dictionary<string, double> Metrics { get; set; } = [];
}

/// <summary>Training progress of the current run.</summary>
[GenerateSerializer, Alias("StageProgress")]
public sealed class StageProgress
{
    [Id(0)] public long Step { get; set; }
    [Id(1)] public long? TotalSteps { get; set; }
    [Id(2)] public int? Epoch { get; set; }
    [Id(3)] public double? SamplesPerSecond { get; set; }
    [Id(4)] public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The first step this run reported and when, to estimate the rate for the ETA.</summary>
    [Id(5)] public long FirstStep { get; set; }
    [Id(6)] public DateTimeOffset FirstStepAt { get; set; }

    /// <summary>Seconds left at the rate seen so far, when the total is known and the run has moved.</summary>
    public double? EtaSeconds
    {
        get
        {
            var elapsed = (UpdatedAt - FirstStepAt).TotalSeconds;
            var done = Step - FirstStep;
            return TotalSteps is { } total && done > 0 && elapsed > 0 ? Math.Max(0, total - Step) * elapsed / done : null;
        }
    }
}
