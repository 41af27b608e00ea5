using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Events;

/// <summary>
/// One live event of an experiment: its status, a stage's status, or a stage's progress. The grains publish
/// them on the experiment's stream; the events API and <c>--run</c> read them (<see cref="ExperimentEventTracker"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("ExperimentEvent")]
public sealed record ExperimentEvent
{
    [Id(0)] public required ExperimentEventType Type { get; init; }
    [Id(1)] public required string ExperimentId { get; init; }

    /// <summary>When the change happened.</summary>
    [Id(2)] public required DateTimeOffset At { get; init; }

    /// <summary>The experiment's status (experiment events).</summary>
    [Id(3)] public ExperimentStatus? ExperimentStatus { get; init; }

    /// <summary>The stage (stage and progress events).</summary>
    [Id(4)] public string? StageId { get; init; }

    /// <summary>The stage's status (stage and progress events).</summary>
    [Id(5)] public StageStatus? StageStatus { get; init; }

    /// <summary>The stage's version: it grows with every status change, so a reader can drop a late event.</summary>
    [Id(6)] public long? Version { get; init; }

    /// <summary>The stage's latest run and its attempt number, if it has run.</summary>
    [Id(7)] public string? RunId { get; init; }

    [Id(8)] public int? Attempt { get; init; }

    /// <summary>Why the latest attempt failed or was stopped, on stage events.</summary>
    [Id(9)] public string? Error { get; init; }

    /// <summary>The run's progress (progress events).</summary>
    [Id(10)] public ProgressView? Progress { get; init; }

    /// <summary>True when the experiment can make no more progress without a resume: the stream ends after it.</summary>
    public bool IsFinal => Type == ExperimentEventType.Experiment && ExperimentStatus is Experiments.ExperimentStatus.Succeeded
        or Experiments.ExperimentStatus.Failed or Experiments.ExperimentStatus.Cancelled;

    /// <summary>A stage's status as the view shows it.</summary>
    public static ExperimentEvent ForStage(string experimentId, StageView stage)
    {
        var attempt = stage.Attempts.Count > 0 ? stage.Attempts[^1] : null;
        return new ExperimentEvent
        {
            Type = ExperimentEventType.Stage,
            ExperimentId = experimentId,
            At = stage.ChangedAt,
            StageId = stage.Id,
            StageStatus = stage.Status,
            Version = stage.Version,
            RunId = attempt?.RunId,
            Attempt = attempt?.Attempt,
            Error = attempt?.Outcome is Stages.StageStatus.Failed or Stages.StageStatus.Cancelled ? attempt.Error : null,
        };
    }

    /// <summary>A stage's progress as the view shows it, or null when it has none (not running).</summary>
    public static ExperimentEvent? ForProgress(string experimentId, StageView stage) => stage.Progress is { } progress
        ? ForStage(experimentId, stage) with { Type = ExperimentEventType.Progress, At = progress.UpdatedAt, Error = null, Progress = progress }
        : null;

    /// <summary>The experiment's status.</summary>
    public static ExperimentEvent ForExperiment(string experimentId, ExperimentStatus status, DateTimeOffset at) => new()
    {
        Type = ExperimentEventType.Experiment,
        ExperimentId = experimentId,
        At = at,
        ExperimentStatus = status,
    };
}
