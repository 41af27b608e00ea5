using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Silo.Api;

/// <summary>
/// A worker in this process (standalone mode): its import roots and the stage kinds it runs, known before it has
/// registered, so a <c>--run</c> submitted at start is checked against them.
/// </summary>
public sealed record LocalWorker(IReadOnlyList<string> ImportRoots, IReadOnlyCollection<string> StageKinds);

/// <summary>
/// What the workers can do, as submissions and the catalog need it: the import roots and stage kinds the registered
/// workers advertise, and those of the <see cref="LocalWorker"/> when there is one.
/// </summary>
public sealed class WorkerCapabilities(IGrainFactory grains, LocalWorker? local = null)
{
    /// <summary>The in-process worker, or null in a cluster (where workers come and go, and a stage waits for one).</summary>
    public LocalWorker? Local => local;

    /// <summary>Every import root of the registered workers that are not lost, and of the local worker.</summary>
    public async Task<IReadOnlyList<string>> ImportRootsAsync() =>
        [.. (local?.ImportRoots ?? []).Concat((await LiveWorkersAsync()).SelectMany(worker => worker.Capacity.ImportRoots)).Distinct(StringComparer.Ordinal)];

    /// <summary>Every stage kind some registered worker that is not lost, or the local worker, runs.</summary>
    public async Task<IReadOnlySet<string>> StageKindsAsync() =>
        (local?.StageKinds ?? []).Concat((await LiveWorkersAsync()).SelectMany(worker => worker.Capacity.StageKinds)).ToHashSet(StringComparer.Ordinal);

    private async Task<IEnumerable<WorkerView>> LiveWorkersAsync() =>
        (await grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key).GetSnapshotAsync()).Workers.Where(worker => !worker.Lost);
}
