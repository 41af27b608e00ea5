namespace Orchestrator.Grains.Scheduling;

/// <summary>
/// Recovery: what the scheduler does after losing its memory (an activation) until every running experiment has
/// announced its runs again.
/// </summary>
public sealed partial class SchedulerCore
{
    /// <summary>
    /// Starts getting the runs back after the scheduler lost its memory: until <see cref="EndRecovery"/>, a run is placed only
    /// on a worker heard since, whose heartbeats list no run that a stage has not announced yet, so no queued run takes
    /// the slot of a running one whose experiment has not caught up, and the queued runs of those that have are placed
    /// without waiting for the rest.
    /// </summary>
    public void BeginRecovery() => State.Unclaimed = new(StringComparer.Ordinal);

    /// <summary>Every running experiment has announced its runs (or the wait is over): every worker takes runs again.</summary>
    public void EndRecovery()
    {
        State.Unclaimed = null;
        State.Changed = true;
    }

    public bool Recovering => State.Unclaimed is not null;

    /// <summary>
    /// During recovery, takes in what a heartbeat of <paramref name="workerId"/> lists: a run announced as queued is out on
    /// the worker after all (placed before the scheduler lost its memory, its stage missed the assignment) and is taken
    /// out of the queue as running there, which is returned so its stage can be told; a running run gains the worker
    /// when it is a gang's; a run no stage has announced yet takes the worker's slots until one does (<see cref="Adopt"/>).
    /// </summary>
    public List<RunAssignment> Listed(string workerId, IReadOnlyCollection<string> activeRunIds, DateTimeOffset now)
    {
        var found = new List<RunAssignment>();
        if (State.Unclaimed is not { } unclaimed)
        {
            return found;
        }

        var unknown = new HashSet<string>(StringComparer.Ordinal);
        foreach (var runId in activeRunIds)
        {
            if (State.Queue.Find(runId) is { } queued)
            {
                var assignment = new RunAssignment { Run = queued, WorkerIds = [workerId], AssignedAt = now };
                State.Queue.Remove(runId);
                Place(assignment);
                found.Add(assignment);
            }
            else if (State.Running.TryGetValue(runId, out var running) && !running.WorkerIds.Contains(workerId))
            {
                Release(runId);
                Place(running with { WorkerIds = [.. running.WorkerIds, workerId] });
            }
            else if (!State.Running.ContainsKey(runId))
            {
                unknown.Add(runId);
            }
        }

        State.Changed |= found.Count > 0 || !unclaimed.TryGetValue(workerId, out var before) || !before.SetEquals(unknown);
        unclaimed[workerId] = unknown;
        return found;
    }

    /// <summary>
    /// During recovery, the workers whose heartbeats list <paramref name="runId"/> while no stage has announced it as out
    /// on them: its stage says it is queued, but it was placed and its stage missed the assignment. Null when none do.
    /// </summary>
    public List<string>? ListedBy(string runId)
    {
        var workers = State.Unclaimed?.Where(entry => entry.Value.Contains(runId)).Select(entry => entry.Key).Order(StringComparer.Ordinal).ToList();
        return workers is { Count: > 0 } ? workers : null;
    }

    /// <summary>Whether <paramref name="worker"/> takes runs now: always, except during recovery (<see cref="BeginRecovery"/>).</summary>
    private bool Open(WorkerRecord worker) =>
        State.Unclaimed is not { } unclaimed || (unclaimed.TryGetValue(worker.WorkerId, out var listed) && listed.Count == 0);
}
