using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Silo.Api;

/// <summary>
/// The folders submitted import paths may point into: every import root the registered workers advertise, and, in
/// standalone mode, the in-process worker's own, known before it has registered (a <c>--run</c> submits at once).
/// Asked only for specs that import, so an ordinary submission costs no call to the scheduler.
/// </summary>
public sealed class ImportRootsSource(IGrainFactory grains, IReadOnlyList<string> localRoots)
{
    public async Task<IReadOnlyList<string>> GetAsync()
    {
        var snapshot = await grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key).GetSnapshotAsync();
        return [.. localRoots.Concat(snapshot.Workers.Where(worker => !worker.Lost).SelectMany(worker => worker.Capacity.ImportRoots)).Distinct(StringComparer.Ordinal)];
    }
}
