namespace Orchestrator.Grains.Scheduling;

/// <summary>
/// The scheduling rules, free of Orleans so they can be tested with plain values: runs are assigned by
/// priority, then round-robin across experiments, then first-come-first-served, to workers that fit; a gang of N
/// gets N distinct workers at once or waits; a worker silent past the timeout is lost along with its runs. A run
/// that does not fit lets later runs that do fit go first (backfill), until it has waited
/// <paramref name="reserveAfter"/>: then the workers it needs are held for it, so a large gang is not starved by a
/// stream of small runs. A pass costs what the shapes of the queue cost (<see cref="RunQueue"/>), not its length,
/// and no pass runs when nothing changed since the last.
/// </summary>
public sealed partial class SchedulerCore(SchedulerState state, TimeSpan reserveAfter)
{
    public SchedulerCore(SchedulerState state)
        : this(state, SchedulerOptions.DefaultReserveAfter)
    {
    }

    public SchedulerState State { get; } = state;

    /// <summary>Records a registration or heartbeat; a lost worker that speaks again is alive again.</summary>
    public void Heartbeat(string workerId, WorkerCapacity capacity, DateTimeOffset now)
    {
        if (State.Workers.TryGetValue(workerId, out var worker))
        {
            var cleared = worker.SuspectSince is { } since && now > since;
            State.Changed |= worker.Lost || cleared || !SameOffer(worker.Capacity, capacity);
            worker.Capacity = capacity;
            worker.LastHeartbeatAt = now;
            worker.Lost = false;
            worker.SuspectSince = cleared ? null : worker.SuspectSince;
            return;
        }

        State.Changed = true;

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
        if (State.Running.ContainsKey(request.RunId) || State.Queue.Contains(request.RunId))
        {
            return false;
        }

        State.Queue.Add(request);
        State.Changed = true;
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

        State.Queue.Remove(assignment.Run.RunId);
        if (State.Unclaimed is { } unclaimed)
        {
            foreach (var listed in unclaimed.Values.Where(listed => listed.Remove(assignment.Run.RunId)))
            {
                State.Changed = true;
            }
        }

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

    /// <summary>
    /// Places nothing on <paramref name="workerIds"/> until each is heard after <paramref name="now"/>: a gang of them
    /// failed, and a rank whose process died looks alive until the heartbeat timeout, so the gang's next generation would
    /// wait on it for the whole join timeout. A live worker costs at most one heartbeat interval, shorter than a retry's
    /// backoff.
    /// </summary>
    public void Suspect(IEnumerable<string> workerIds, DateTimeOffset now)
    {
        foreach (var workerId in workerIds)
        {
            if (State.Workers.TryGetValue(workerId, out var worker))
            {
                worker.SuspectSince = now;
            }
        }
    }

    /// <summary>Forgets a run, queued or running; returns its assignment when it was out on workers.</summary>
    public RunAssignment? Release(string runId)
    {
        State.Queue.Remove(runId);
        if (!State.Running.Remove(runId, out var assignment))
        {
            return null;
        }

        State.Changed = true;

        foreach (var workerId in assignment.WorkerIds)
        {
            State.UsedSlots[workerId] -= assignment.Run.Resources.Slots;
            State.MissingSince.Remove((runId, workerId));
        }

        return assignment;
    }

    /// <summary>
    /// Assigns every queued run that fits now, in assignment order (<see cref="QueuedRun.AssignmentOrder"/>) across the
    /// shapes that fit. Each shape is checked once, then again only after one of its runs is placed; a shape that does
    /// not fit costs one check, however many runs it holds. Does nothing when nothing changed since the last pass.
    /// </summary>
    public List<RunAssignment> AssignReady(DateTimeOffset now)
    {
        var assignments = new List<RunAssignment>();
        if (!State.Changed)
        {
            return assignments;
        }

        State.Changed = false;
        var free = State.Workers.Values.Where(worker => !worker.Lost)
            .ToDictionary(worker => worker.WorkerId, worker => Open(worker) ? worker.Capacity.Slots - UsedSlots(worker.WorkerId) : 0, StringComparer.Ordinal);
        if (State.Queue.Count == 0 || free.Values.All(slots => slots <= 0))
        {
            return assignments;
        }

        var heads = new PriorityQueue<RunShape, QueuedRun>(QueuedRun.AssignmentOrder);
        RunShape? starving = null;
        foreach (var shape in State.Queue.Shapes)
        {
            State.ShapesExamined++;
            var head = shape.Runs.Min!;
            if (Choose(shape, worker => free[worker.WorkerId], held: null) is not null)
            {
                heads.Enqueue(shape, head);
            }
            else if (now - head.Request.ReadyAt >= reserveAfter
                && (starving is null || QueuedRun.AssignmentOrder.Compare(head, starving.Runs.Min!) < 0))
            {
                starving = shape;
            }
        }

        // The held workers stay open to runs ahead of the starving one in assignment order, so a reservation never
        // blocks a run that would have gone first anyway.
        State.Reservation = Reserve(starving);
        var held = State.Reservation?.WorkerIds.ToHashSet(StringComparer.Ordinal);
        while (heads.TryDequeue(out var shape, out var head))
        {
            State.ShapesExamined++;
            var behind = starving is not null && QueuedRun.AssignmentOrder.Compare(head, starving.Runs.Min!) > 0;
            if (Choose(shape, worker => free[worker.WorkerId], behind ? held : null) is not { } gang)
            {
                continue;
            }

            foreach (var workerId in gang)
            {
                free[workerId] -= shape.Needs.Slots;
            }

            var assignment = new RunAssignment { Run = head.Request, WorkerIds = gang, AssignedAt = now };
            State.Queue.Remove(head.Request.RunId, placed: true);
            Place(assignment);
            assignments.Add(assignment);
            if (free.Values.All(slots => slots <= 0))
            {
                break;
            }

            if (shape.Runs.Count > 0)
            {
                heads.Enqueue(shape, shape.Runs.Min!);
            }
        }

        return assignments;
    }

    /// <summary>
    /// The workers <paramref name="shape"/>'s runs would take given the slots <paramref name="available"/> on each, none
    /// of them <paramref name="held"/> for another run: the most free first, then by id; a gang's share a device type and
    /// its collective backend (Gloo on CPU, NCCL on CUDA), and a gang that may run on either takes CUDA ("cuda" sorts
    /// after "cpu") when enough GPUs are free. Null when too few fit.
    /// </summary>
    private List<string>? Choose(RunShape shape, Func<WorkerRecord, int> available, HashSet<string>? held)
    {
        var needs = shape.Needs;
        var candidates = State.Workers.Values
            .Where(worker => !worker.Lost && worker.SuspectSince is null && available(worker) >= needs.Slots && worker.Capacity.Runs(shape.Kind) && worker.Capacity.Offers(needs)
                && (held is null || !held.Contains(worker.WorkerId)));
        if (needs.Workers > 1)
        {
            candidates = candidates.Where(worker => worker.Capacity.JoinsGangs)
                .GroupBy(worker => worker.Capacity.Device.ToLowerInvariant(), StringComparer.Ordinal)
                .Where(device => device.Count() >= needs.Workers)
                .OrderByDescending(device => device.Key, StringComparer.Ordinal)
                .FirstOrDefault() ?? Enumerable.Empty<WorkerRecord>();
        }

        var chosen = candidates
            .OrderByDescending(available)
            .ThenBy(worker => worker.WorkerId, StringComparer.Ordinal)
            .Take(needs.Workers)
            .Select(worker => worker.WorkerId)
            .ToList();
        return chosen.Count == needs.Workers ? chosen : null;
    }

    /// <summary>
    /// Holds workers for the head of <paramref name="starving"/>, the first run in assignment order that has waited past
    /// the reservation time without fitting: the workers it would take if they were empty, the freest first, so it starts
    /// as soon as their runs end. None when no set of workers could ever take it.
    /// </summary>
    private Reservation? Reserve(RunShape? starving) =>
        starving is not null && Choose(starving, worker => worker.Capacity.Slots, held: null) is { } workers
            ? new Reservation(starving.Runs.Min!.Request.RunId, workers)
            : null;

    private static bool SameOffer(WorkerCapacity a, WorkerCapacity b) =>
        a.Slots == b.Slots
        && string.Equals(a.Device, b.Device, StringComparison.OrdinalIgnoreCase)
        && a.MemoryGib.Equals(b.MemoryGib)
        && a.Labels.Count == b.Labels.Count && a.Labels.All(label => b.Labels.TryGetValue(label.Key, out var value) && value == label.Value)
        && a.ImportRoots.SequenceEqual(b.ImportRoots, StringComparer.Ordinal)
        && a.StageKinds.SequenceEqual(b.StageKinds, StringComparer.Ordinal)
        && a.CollectiveBackends.SequenceEqual(b.CollectiveBackends, StringComparer.Ordinal);

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

    private List<LostRun> TakeRunsOf(string workerId) =>
        [.. State.Running.Values.Where(assignment => assignment.WorkerIds.Contains(workerId)).ToList()
            .Select(assignment => new LostRun(Release(assignment.Run.RunId)!, workerId))];
}
