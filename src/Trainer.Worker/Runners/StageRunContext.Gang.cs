using Trainer.Worker.Runners.Gangs;
using VisionLanguage.Training.Distributed;

namespace Trainer.Worker.Runners;

/// <summary>A run's place in its gang: joining the other ranks through the orchestrator.</summary>
public sealed partial class StageRunContext
{
    /// <summary>The orchestrator's rendezvous store of this run, through which a gang's ranks connect; null where no orchestrator answers (tests of one rank).</summary>
    public IGangRendezvous? Rendezvous { get; init; }

    /// <summary>How this worker joins a gang: the address its peers reach it at, the join and collective timeouts.</summary>
    public GangOptions Gang { get; init; } = new();

    /// <summary>The worker's clock.</summary>
    internal TimeProvider TimeProvider => _timeProvider;

    /// <summary>
    /// Joins this run's rank of its gang through the orchestrator's rendezvous store: the collectives its trainer averages
    /// gradients with. Null for a run of one worker. The time spent waiting for the other ranks is the run's rendezvous
    /// wait in the worker's metrics. The caller disposes the collectives.
    /// </summary>
    public async Task<ICollectives?> ConnectGangAsync(CancellationToken cancellationToken)
    {
        if (Run.WorldSize <= 1)
        {
            return null;
        }

        var started = _timeProvider.GetTimestamp();
        var member = new GangMember(Run.RunId, Run.ExperimentId, Run.StageId, Run.Rank, Run.WorldSize, Run.Rendezvous.Generation);
        var gang = await GangCollectives.ConnectAsync(member, Rendezvous, Device, Gang, Logger, _timeProvider, cancellationToken);
        _series?.RecordRendezvous(_timeProvider.GetElapsedTime(started));
        return gang;
    }
}
