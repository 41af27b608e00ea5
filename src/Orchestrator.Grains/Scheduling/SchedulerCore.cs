namespace Orchestrator.Grains.Scheduling;

/// <summary>
/// The scheduling rules, free of Orleans so they can be tested with plain values: runs are assigned by
/// priority and then first-come-first-served to workers that fit; a gang of N gets N distinct workers at
/// once or waits; a worker silent past the timeout is lost along with its runs. A run that does not fit
/// lets later runs that do fit go first (backfill), so a large gang can wait behind small runs.
/// </summary>
public sealed class SchedulerCore(SchedulerState state)
{
    public SchedulerState State { get; } = state;

    /// <summary>Records a registration or heartbeat; a lost worker that speaks again is alive again.</summary>
    public void Heartbeat(string workerId, WorkerCapacity capacity, DateTimeOffset now)
    {
        if (State.Workers.TryGetValue(workerId, out var worker))
        {
            worker.Capacity = capacity;
            worker.LastHeartbeatAt = now;
            worker.Lost = false;
            return;
        }

        State.Workers[workerId] = new WorkerRecord
        {
            WorkerId = workerId,
            Capacity = capacity,
            RegisteredAt = now,
            LastHeartbeatAt = now,
        };
    }

    /// <summary>Queues a run; a run already queued or running is left as it is, so a repeated call is harmless.</summary>
    public bool Enqueue(RunRequest request)
    {
        if (State.Running.ContainsKey(request.RunId) || State.Queued.ContainsKey(request.RunId))
        {
            return false;
        }

        var queued = new QueuedRun(State.NextSequence++, request);
        State.Queue.Add(queued);
        State.Queued[request.RunId] = queued;
        return true;
    }

    /// <summary>
    /// Takes in a run its stage says is out on workers (after the scheduler lost its memory): it counts
    /// against their slots again. A worker not heard of yet is recorded as last heard now, so it is declared
    /// lost, with the run, if it stays silent past the timeout.
    /// </summary>
    public bool Adopt(RunAssignment assignment, DateTimeOffset now)
    {
        if (State.Running.ContainsKey(assignment.Run.RunId))
        {
            return false;
        }

        Dequeue(assignment.Run.RunId);
        foreach (var workerId in assignment.WorkerIds.Where(workerId => !State.Workers.ContainsKey(workerId)))
        {
            State.Workers[workerId] = new WorkerRecord
            {
                WorkerId = workerId,
                Capacity = new WorkerCapacity { Slots = assignment.Run.Resources.Slots, Device = "unknown" },
                RegisteredAt = now,
                LastHeartbeatAt = now,
            };
        }

        Place(assignment);
        return true;
    }

    /// <summary>Forgets a run, queued or running; returns its assignment when it was out on workers.</summary>
    public RunAssignment? Release(string runId)
    {
        Dequeue(runId);
        if (!State.Running.Remove(runId, out var assignment))
        {
            return null;
        }

        foreach (var workerId in assignment.WorkerIds)
        {
            State.UsedSlots[workerId] -= assignment.Run.Resources.Slots;
            State.MissingSince.Remove((runId, workerId));
        }

        return assignment;
    }

    /// <summary>Assigns every queued run that fits now, in priority then FIFO order.</summary>
    public List<RunAssignment> AssignReady(DateTimeOffset now)
    {
        var assignments = new List<RunAssignment>();
        var free = State.Workers.Values.Where(worker => !worker.Lost)
            .ToDictionary(worker => worker.WorkerId, worker => worker.Capacity.Slots - UsedSlots(worker.WorkerId));
        if (State.Queue.Count == 0 || free.Values.All(slots => slots <= 0))
        {
            return assignments;
        }

        foreach (var queued in State.Queue.ToList())
        {
            var needs = queued.Request.Resources;
            var candidates = State.Workers.Values
                .Where(worker => !worker.Lost && free[worker.WorkerId] >= needs.Slots && worker.Capacity.Runs(queued.Request.Kind) && worker.Capacity.Offers(needs));
            if (needs.Workers > 1)
            {
                // A gang's ranks share a device type and its collective backend (Gloo on CPU, NCCL on CUDA); a gang
                // that may run on either takes CUDA ("cuda" sorts after "cpu") when enough GPUs are free.
                candidates = candidates.Where(worker => worker.Capacity.JoinsGangs)
                    .GroupBy(worker => worker.Capacity.Device.ToLowerInvariant(), StringComparer.Ordinal)
                    .Where(device => device.Count() >= needs.Workers)
                    .OrderByDescending(device => device.Key, StringComparer.Ordinal)
                    .FirstOrDefault() ?? Enumerable.Empty<WorkerRecord>();
            }

            var gang = candidates
                .OrderByDescending(worker => free[worker.WorkerId])
                .ThenBy(worker => worker.WorkerId, StringComparer.Ordinal)
                .Take(needs.Workers)
                .Select(worker => worker.WorkerId)
                .ToList();
            if (gang.Count < needs.Workers)
            {
                continue;
            }

            foreach (var workerId in gang)
            {
                free[workerId] -= needs.Slots;
            }

            var assignment = new RunAssignment { Run = queued.Request, WorkerIds = gang, AssignedAt = now };
            Dequeue(queued.Request.RunId);
            Place(assignment);
            assignments.Add(assignment);
            if (free.Values.All(slots => slots <= 0))
            {
                break;
            }
        }

        return assignments;
    }

    /// <summary>How long a run taken back from a lost worker is remembered, in case the worker comes back still running it.</summary>
    public static readonly TimeSpan TakenBackLifetime = TimeSpan.FromDays(1);

    /// <summary>
    /// Records that heartbeats cannot arrive: until <see cref="Hearing"/>, nobody's silence is their own. Returns
    /// true when this begins an outage.
    /// </summary>
    public bool Deaf(DateTimeOffset now)
    {
        if (State.DeafSince is not null)
        {
            return false;
        }

        State.DeafSince = now;
        return true;
    }

    /// <summary>
    /// Records that heartbeats can arrive; when this ends an outage, returns how long it lasted. Every worker then
    /// has the reconnect grace of <see cref="DetectLost"/> to be heard again.
    /// </summary>
    public TimeSpan? Hearing(DateTimeOffset now)
    {
        if (State.DeafSince is not { } since)
        {
            return null;
        }

        State.DeafSince = null;
        State.HearingSince = now;
        return now - since;
    }

    /// <summary>
    /// Declares workers silent for longer than <paramref name="timeout"/> lost, and takes back their runs. Nobody is
    /// lost during an outage (<see cref="Deaf"/>), nor until <paramref name="reconnectGrace"/> (or the timeout, if
    /// longer) has passed since it ended.
    /// </summary>
    public List<LostRun> DetectLost(DateTimeOffset now, TimeSpan timeout, TimeSpan reconnectGrace = default)
    {
        var lost = new List<LostRun>();
        var sinceOutage = now - State.HearingSince;
        if (State.DeafSince is not null || sinceOutage <= timeout || sinceOutage <= reconnectGrace)
        {
            return lost;
        }

        var silent = State.Workers.Values.Where(worker => !worker.Lost && now - worker.LastHeartbeatAt > timeout).ToList();
        foreach (var worker in silent)
        {
            worker.Lost = true;
            var runs = TakeRunsOf(worker.WorkerId);
            foreach (var run in runs)
            {
                State.TakenBack[(run.Assignment.Run.RunId, run.WorkerId)] = new TakenBackRun(run.Assignment, now);
            }

            lost.AddRange(runs);
        }

        return lost;
    }

    /// <summary>
    /// The runs a heartbeat of <paramref name="workerId"/> lists that were taken back from it when it was declared
    /// lost: the worker came back (a network partition, a paused VM) still running them, but their stages have
    /// retried elsewhere or failed, so they only burn the worker's slots and must be cancelled. Each is returned at
    /// every such heartbeat until the worker stops listing it, so a cancel lost on the way is sent again. Runs
    /// remembered for longer than <see cref="TakenBackLifetime"/> are forgotten.
    /// </summary>
    public List<RunAssignment> Superseded(string workerId, IReadOnlyCollection<string> activeRunIds, DateTimeOffset now)
    {
        var superseded = new List<RunAssignment>();
        foreach (var (key, run) in State.TakenBack.ToList())
        {
            if (now - run.At > TakenBackLifetime || (key.WorkerId == workerId && !activeRunIds.Contains(key.RunId)))
            {
                State.TakenBack.Remove(key);
            }
            else if (key.WorkerId == workerId && !State.Running.ContainsKey(key.RunId))
            {
                superseded.Add(run.Assignment);
            }
        }

        return superseded;
    }

    /// <summary>
    /// Runs the scheduler placed on a worker that its heartbeats have left out for longer than
    /// <paramref name="grace"/> are lost too: the worker restarted, or never received the run. The grace counts
    /// from the first heartbeat that left the run out, not from the assignment: a worker drops a run from its
    /// heartbeats as soon as it has published the run's final report, and that report travels on another queue,
    /// so it may arrive after the heartbeat; after a silo restart, a long backlog of both arrives at once.
    /// </summary>
    public List<LostRun> Reconcile(string workerId, IReadOnlyCollection<string> activeRunIds, DateTimeOffset now, TimeSpan grace)
    {
        var lost = new List<LostRun>();
        foreach (var assignment in State.Running.Values.Where(assignment => assignment.WorkerIds.Contains(workerId)).ToList())
        {
            var key = (assignment.Run.RunId, workerId);
            if (activeRunIds.Contains(assignment.Run.RunId))
            {
                State.MissingSince.Remove(key);
            }
            else if (!State.MissingSince.TryAdd(key, now) && now - State.MissingSince[key] > grace)
            {
                lost.Add(new LostRun(Release(assignment.Run.RunId)!, workerId));
            }
        }

        return lost;
    }

    public int UsedSlots(string workerId) => State.UsedSlots.GetValueOrDefault(workerId);

    public SchedulerSnapshot Snapshot() => new()
    {
        Workers = [.. State.Workers.Values.OrderBy(worker => worker.WorkerId, StringComparer.Ordinal).Select(worker => new WorkerView
        {
            WorkerId = worker.WorkerId,
            Capacity = worker.Capacity,
            FreeSlots = worker.Lost ? 0 : worker.Capacity.Slots - UsedSlots(worker.WorkerId),
            Lost = worker.Lost,
            LastHeartbeatAt = worker.LastHeartbeatAt,
            RunIds = [.. State.Running.Values.Where(run => run.WorkerIds.Contains(worker.WorkerId)).Select(run => run.Run.RunId)],
        })],
        QueueDepth = State.Queue.Count,
        RunningRuns = State.Running.Count,
    };

    private void Place(RunAssignment assignment)
    {
        State.Running[assignment.Run.RunId] = assignment;
        foreach (var workerId in assignment.WorkerIds)
        {
            State.UsedSlots[workerId] = UsedSlots(workerId) + assignment.Run.Resources.Slots;
        }
    }

    private void Dequeue(string runId)
    {
        if (State.Queued.Remove(runId, out var queued))
        {
            State.Queue.Remove(queued);
        }
    }

    private List<LostRun> TakeRunsOf(string workerId) =>
        [.. State.Running.Values.Where(assignment => assignment.WorkerIds.Contains(workerId)).ToList()
            .Select(assignment => new LostRun(Release(assignment.Run.RunId)!, workerId))];
}
