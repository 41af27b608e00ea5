using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Grains.Tests.Scheduling;

/// <summary>The scheduler under a backlog: what a pass costs, who goes first, and that a large gang is not starved.</summary>
public sealed class SchedulerBacklogTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan ReserveAfter = TimeSpan.FromMinutes(5);

    [Fact]
    public void One_enqueue_checks_a_bounded_number_of_shapes_with_ten_thousand_runs_that_cannot_fit_queued()
    {
        var core = new SchedulerCore(new SchedulerState(), ReserveAfter);
        core.Heartbeat("w1", Cpu(slots: 4), T0);
        core.Heartbeat("w2", Cpu(slots: 4), T0);
        for (var i = 0; i < 10_000; i++)
        {
            core.Enqueue(Run($"gang-{i}", experiment: $"exp-{i % 100}", workers: 8));
        }

        Assert.Empty(core.AssignReady(T0));
        var before = core.State.ShapesExamined;

        core.Enqueue(Run("single", experiment: "late"));
        var assignment = Assert.Single(core.AssignReady(T0));

        Assert.Equal("single", assignment.Run.RunId);
        // The gang shape once, the single shape once and once more when it is placed: the 10,000 gangs are one shape.
        Assert.Equal(3, core.State.ShapesExamined - before);
        Assert.Equal(10_000, core.State.Queue.Count);
    }

    [Fact]
    public void A_pass_with_nothing_changed_examines_nothing_not_even_after_a_heartbeat_with_the_same_capacity()
    {
        var core = new SchedulerCore(new SchedulerState(), ReserveAfter);
        core.Heartbeat("w1", Cpu(slots: 1), T0);
        core.Enqueue(Run("gang", workers: 2));
        Assert.Empty(core.AssignReady(T0));
        var after = core.State.ShapesExamined;

        // A heartbeat carries a fresh copy of the same capacity (new lists): nothing changed, so no pass.
        core.Heartbeat("w1", Cpu(slots: 1), T0.AddSeconds(5));
        Assert.Empty(core.AssignReady(T0.AddSeconds(5)));
        Assert.Equal(after, core.State.ShapesExamined);

        // A second worker does change what fits.
        core.Heartbeat("w2", Cpu(slots: 1), T0.AddSeconds(6));
        Assert.Equal(["w1", "w2"], Assert.Single(core.AssignReady(T0.AddSeconds(6))).WorkerIds);
    }

    [Fact]
    public void An_experiment_that_arrives_after_a_sweep_of_500_stages_starts_within_two_placements()
    {
        var core = new SchedulerCore(new SchedulerState(), ReserveAfter);
        core.Heartbeat("w1", Cpu(slots: 1), T0);
        for (var i = 0; i < 500; i++)
        {
            core.Enqueue(Run($"sweep-{i:000}", experiment: "sweep"));
        }

        var placed = new List<string> { Assert.Single(core.AssignReady(T0)).Run.RunId };
        core.Enqueue(Run("late", experiment: "late"));
        core.Enqueue(Run("late-2", experiment: "late"));
        while (placed.Count < 6)
        {
            core.Release(placed[^1]);
            placed.Add(Assert.Single(core.AssignReady(T0)).Run.RunId);
        }

        // Round-robin across the two experiments, first come first served within each.
        Assert.Equal(["sweep-000", "late", "sweep-001", "late-2", "sweep-002", "sweep-003"], placed);
    }

    [Fact]
    public void Priority_still_goes_first_and_a_sweep_keeps_its_own_order()
    {
        var core = new SchedulerCore(new SchedulerState(), ReserveAfter);
        core.Heartbeat("w1", Cpu(slots: 1), T0);
        core.Enqueue(Run("a-1", experiment: "a"));
        core.Enqueue(Run("a-2", experiment: "a"));
        core.Enqueue(Run("b-1", experiment: "b"));
        core.Enqueue(Run("urgent", experiment: "c", priority: 5));

        var placed = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            placed.Add(Assert.Single(core.AssignReady(T0)).Run.RunId);
            core.Release(placed[^1]);
        }

        Assert.Equal(["urgent", "a-1", "b-1", "a-2"], placed);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_gang_of_eight_that_waited_past_the_reservation_time_starts_despite_a_stream_of_one_slot_runs(bool reserve)
    {
        var core = new SchedulerCore(new SchedulerState(), reserve ? ReserveAfter : TimeSpan.MaxValue);
        var workers = Enumerable.Range(1, 8).Select(n => $"w{n}").ToList();
        workers.ForEach(worker => core.Heartbeat(worker, Cpu(slots: 1), T0));
        var running = new Queue<string>();
        var next = 0;
        void Stream(DateTimeOffset now)
        {
            core.Enqueue(Run($"small-{next++}", experiment: "stream", readyAt: now));
        }

        // Eight small runs take every worker, then the gang arrives, then a new small run arrives each time one ends.
        for (var i = 0; i < 8; i++)
        {
            Stream(T0);
        }

        core.AssignReady(T0).ForEach(assignment => running.Enqueue(assignment.Run.RunId));
        core.Enqueue(Run("gang", experiment: "gang", workers: 8, readyAt: T0));

        DateTimeOffset? gangStarted = null;
        for (var minute = 1; minute <= 60 && gangStarted is null; minute++)
        {
            var now = T0.AddMinutes(minute);
            core.Release(running.Dequeue());
            Stream(now);
            foreach (var assignment in core.AssignReady(now))
            {
                if (assignment.Run.RunId == "gang")
                {
                    gangStarted = now;
                }
                else
                {
                    running.Enqueue(assignment.Run.RunId);
                }
            }
        }

        if (reserve)
        {
            // Held from minute 5 (the first pass after it waited that long); its last worker came free at minute 12.
            Assert.Equal(T0.AddMinutes(12), gangStarted);
        }
        else
        {
            Assert.Null(gangStarted);
        }
    }

    [Fact]
    public void Workers_held_for_a_starving_run_stay_open_to_a_run_ahead_of_it()
    {
        var core = new SchedulerCore(new SchedulerState(), ReserveAfter);
        core.Heartbeat("w1", Cpu(slots: 2), T0);
        core.Heartbeat("w2", Cpu(slots: 2), T0);
        core.Enqueue(Run("busy", experiment: "x", readyAt: T0));
        Assert.Single(core.AssignReady(T0));

        // A gang needing two slots on each of two workers waits (w1 has one free) and is held for after 5 minutes;
        // a higher-priority single run that arrives later still takes a held slot: it is ahead in the queue.
        core.Enqueue(Run("wide", experiment: "wide", workers: 2, slots: 2, readyAt: T0));
        core.Enqueue(Run("small", experiment: "small", readyAt: T0));
        Assert.Equal(["small"], Assigned(core.AssignReady(T0.AddMinutes(1))));
        core.Release("small");
        Assert.Empty(core.AssignReady(T0.AddMinutes(6)));
        Assert.Equal("wide", core.State.Reservation?.RunId);
        Assert.Equal(["w1", "w2"], core.State.Reservation!.WorkerIds);

        core.Enqueue(Run("behind", experiment: "behind", readyAt: T0.AddMinutes(6)));
        core.Enqueue(Run("urgent", experiment: "urgent", priority: 5, readyAt: T0.AddMinutes(6)));
        Assert.Equal(["urgent"], Assigned(core.AssignReady(T0.AddMinutes(6))));
    }

    private static List<string> Assigned(List<RunAssignment> assignments) => [.. assignments.Select(assignment => assignment.Run.RunId)];

    private static WorkerCapacity Cpu(int slots) => new() { Slots = slots, Device = "cpu", StageKinds = ["dataset.synthetic"], CollectiveBackends = ["gloo"] };

    private static RunRequest Run(string runId, string experiment = "exp", int priority = 0, int workers = 1, int slots = 1, DateTimeOffset? readyAt = null) => new()
    {
        RunId = runId,
        Attempt = 1,
        ExperimentId = experiment,
        StageId = runId,
        Kind = "dataset.synthetic",
        OptionsJson = "{}",
        Inputs = [],
        Resources = new ResourceNeeds { Workers = workers, Slots = slots },
        Priority = priority,
        ReadyAt = readyAt ?? T0,
    };
}
