using Orchestrator.Grains.Experiments;

namespace Orchestrator.Grains.Events;

/// <summary>
/// What one reader of an experiment's events has seen. Live events and snapshots of the experiment both pass
/// through it, so a reader gets each change once and in order whichever told it first: a stage event only when
/// the stage's version grew, a progress event only for a later step of a run whose status is still the stage's
/// latest, an experiment event only when the status changed. A snapshot fills in what the live stream lost (events
/// are best-effort; the grains' state is the truth).
/// </summary>
public sealed class ExperimentEventTracker
{
    private readonly Dictionary<string, long> _stageVersions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string? RunId, long Step)> _progress = new(StringComparer.Ordinal);
    private ExperimentStatus? _status;

    /// <summary>True once a final experiment status has been passed on: the reader stops there.</summary>
    public bool Ended { get; private set; }

    /// <summary>Whether <paramref name="change"/> is news to this reader; records it when it is.</summary>
    public bool Accept(ExperimentEvent change)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (Ended)
        {
            return false;
        }

        switch (change.Type)
        {
            case ExperimentEventType.Experiment:
                if (change.ExperimentStatus == _status)
                {
                    return false;
                }

                _status = change.ExperimentStatus;
                Ended = change.IsFinal;
                return true;
            case ExperimentEventType.Stage:
                if (_stageVersions.TryGetValue(change.StageId!, out var version) && change.Version <= version)
                {
                    return false;
                }

                _stageVersions[change.StageId!] = change.Version ?? 0;
                return true;
            case ExperimentEventType.Progress:
                // Progress carries the version of the status it was made in. Once a later status has been passed on
                // (the run ended, say, told by a snapshot while the stream still held the run's last steps), it is old.
                if (_stageVersions.TryGetValue(change.StageId!, out var statusVersion) && change.Version < statusVersion)
                {
                    return false;
                }

                var step = change.Progress!.Step;
                if (_progress.TryGetValue(change.StageId!, out var seen) && seen.RunId == change.RunId && step <= seen.Step)
                {
                    return false;
                }

                _progress[change.StageId!] = (change.RunId, step);
                return true;
            default:
                throw new ArgumentOutOfRangeException(nameof(change), change.Type, "unknown event type");
        }
    }

    /// <summary>
    /// The events a snapshot of the experiment holds that this reader has not seen, in order: stage changes,
    /// then progress, then the experiment's status (so a final status comes last).
    /// </summary>
    public IReadOnlyList<ExperimentEvent> CatchUp(ExperimentView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var news = new List<ExperimentEvent>();
        foreach (var stage in view.Stages)
        {
            var change = ExperimentEvent.ForStage(view.Id, stage);
            if (Accept(change))
            {
                news.Add(change);
            }
        }

        foreach (var stage in view.Stages)
        {
            if (ExperimentEvent.ForProgress(view.Id, stage) is { } progress && Accept(progress))
            {
                news.Add(progress);
            }
        }

        var status = ExperimentEvent.ForExperiment(view.Id, view.Status, view.EndedAt ?? view.CreatedAt);
        if (Accept(status))
        {
            news.Add(status);
        }

        return news;
    }
}
