using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Messages;
using VisionLanguage.Training.Distributed;
using VisionLanguage.Training.Distributed.Gloo;
using VisionLanguage.Training.Distributed.Nccl;

namespace Trainer.Worker.Runners.Gangs;

/// <summary>
/// The collectives of a gang's rank: Gloo among CPU workers, NCCL among CUDA workers, both meeting through the
/// orchestrator's rendezvous store of the run. What a worker can join is what it advertises when it registers.
/// </summary>
internal static class GangCollectives
{
    /// <summary>The backends this process can join a gang of <paramref name="device"/> workers with: the native library loads.</summary>
    public static IReadOnlyList<string> Available(string device, ILogger logger)
    {
        var backend = CollectiveBackends.For(device);
        var problem = backend == CollectiveBackends.Nccl ? NcclCollectives.UnavailableReason : GlooCollectives.UnavailableReason;
        if (problem is null)
        {
            return [backend];
        }

        logger.LogWarning("This worker joins no gang of {Device} workers: {Backend} is not available ({Problem})", device, backend, problem);
        return [];
    }

    /// <summary>Connects <paramref name="run"/>'s rank of its gang, through the orchestrator's rendezvous store.</summary>
    public static async Task<ICollectives> ConnectAsync(
        GangMember run, IGangRendezvous? rendezvous, string device, GangOptions options, ILogger logger, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var store = new OrchestratorRendezvousStore(run, rendezvous ?? throw new InvalidOperationException(
            $"run {run.RunId} is rank {run.Rank} of a gang of {run.WorldSize}, but this worker has no rendezvous with the orchestrator"), timeProvider);
        var backend = CollectiveBackends.For(device);
        logger.LogInformation(
            "Joining generation {Generation} of the gang of {WorldSize} as rank {Rank} through {Backend}", run.Generation, run.WorldSize, run.Rank, backend);
        return backend == CollectiveBackends.Nccl
            ? await NcclCollectives.ConnectAsync(run.Rank, run.WorldSize, store,
                new NcclOptions { JoinTimeout = options.JoinTimeout, CollectiveTimeout = options.CollectiveTimeout }, cancellationToken)
            : await GlooCollectives.ConnectAsync(run.Rank, run.WorldSize, store,
                new GlooOptions { Hostname = options.Address, JoinTimeout = options.JoinTimeout, CollectiveTimeout = options.CollectiveTimeout }, cancellationToken);
    }
}
