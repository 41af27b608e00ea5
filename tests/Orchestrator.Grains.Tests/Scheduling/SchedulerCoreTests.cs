using Orchestrator.Grains.Scheduling;

namespace Orchestrator.Grains.Tests.Scheduling;

public sealed class SchedulerCoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly SchedulerCore _core = new(new SchedulerState());

    [Fact]
    public void Runs_go_out_by_priority_then_first_come_first_served()
    {
        _core.Heartbeat("w1", Cpu(slots: 1), T0);
        _core.Enqueue(Run("low-1"));
        _core.Enqueue(Run("high", priority: 5));
        _core.Enqueue(Run("low-2"));

        Assert.Equal(["high"], Assigned(_core.AssignReady(T0)));
        _core.Release("high");
        Assert.Equal(["low-1"], Assigned(_core.AssignReady(T0)));
        _core.Release("low-1");
        Assert.Equal(["low-2"], Assigned(_core.AssignReady(T0)));
    }

    [Fact]
    public void A_gang_gets_all_its_workers_at_once_or_waits()
    {
        _core.Heartbeat("w1", Cpu(slots: 1), T0);
        _core.Enqueue(Run("gang", workers: 2));

        Assert.Empty(_core.AssignReady(T0));
        Assert.Single(_core.State.Queue);

        _core.Heartbeat("w2", Cpu(slots: 1), T0);
        var assignment = Assert.Single(_core.AssignReady(T0));
        Assert.Equal(["w1", "w2"], assignment.WorkerIds);
        Assert.Equal(0, _core.UsedSlots("w3"));
        Assert.Equal((1, 1), (_core.UsedSlots("w1"), _core.UsedSlots("w2")));
    }

    [Fact]
    public void The_workers_of_a_failed_gang_get_nothing_until_each_is_heard_again_and_one_never_heard_is_lost()
    {
        foreach (var worker in new[] { "w1", "w2", "w3" })
        {
            _core.Heartbeat(worker, Cpu(slots: 1), T0);
        }

        _core.Enqueue(Run("gen-1", workers: 2));
        Assert.Equal(["w1", "w2"], Assert.Single(_core.AssignReady(T0)).WorkerIds);

        // Rank 1's process on w2 died; rank 0 reported the gang's failure at T0+5 s and the stage retries it.
        var failedAt = T0.AddSeconds(5);
        _core.Release("gen-1");
        _core.Suspect(["w1", "w2"], failedAt);
        _core.Enqueue(Run("gen-2", workers: 2));
        Assert.Empty(_core.AssignReady(failedAt));

        // w1 is heard: w1 and w3 take the next generation; w2, never heard again, stays out and is declared lost.
        _core.Heartbeat("w1", Cpu(slots: 1), failedAt.AddSeconds(2));
        Assert.Equal(["w1", "w3"], Assert.Single(_core.AssignReady(failedAt.AddSeconds(2))).WorkerIds);
        Assert.Equal("w2", Assert.Single(_core.State.Workers.Values, worker => worker.SuspectSince is not null).WorkerId);
        _core.DetectLost(T0.AddSeconds(40), TimeSpan.FromSeconds(30));
        Assert.True(_core.State.Workers["w2"].Lost);
    }

    [Fact]
    public void A_run_that_does_not_fit_lets_a_later_one_that_fits_go_first()
    {
        _core.Heartbeat("w1", Cpu(slots: 1), T0);
        _core.Enqueue(Run("gang", workers: 2));
        _core.Enqueue(Run("single"));

        Assert.Equal(["single"], Assigned(_core.AssignReady(T0)));
    }

    [Fact]
    public void A_run_goes_only_to_a_worker_that_runs_its_kind_and_waits_while_none_does()
    {
        _core.Heartbeat("other-kinds", new WorkerCapacity { Slots = 4, Device = "cpu", StageKinds = ["blip.pretrain", "dataset.import"] }, T0);
        _core.Heartbeat("legacy", new WorkerCapacity { Slots = 4, Device = "cpu" }, T0);
        _core.Enqueue(Run("synthetic"));

        Assert.Empty(_core.AssignReady(T0));
        Assert.Single(_core.State.Queue);

        _core.Heartbeat("synthetic-worker", Cpu(slots: 1), T0);
        Assert.Equal(["synthetic-worker"], Assert.Single(_core.AssignReady(T0)).WorkerIds);
    }

    [Fact]
    public void An_import_goes_only_to_a_worker_with_an_import_root_above_every_path_it_reads()
    {
        _core.Heartbeat("no-roots", Cpu(slots: 1), T0);
        _core.Heartbeat("other-root", new WorkerCapacity { Slots = 1, Device = "cpu", StageKinds = ["dataset.synthetic"], ImportRoots = ["/data/other"] }, T0);
        _core.Enqueue(Run("import", needs: new ResourceNeeds { ImportPaths = ["/data/coco/annotations.json", "/data/coco/images"] }));

        Assert.Empty(_core.AssignReady(T0));

        _core.Heartbeat("coco", new WorkerCapacity { Slots = 1, Device = "cpu", StageKinds = ["dataset.synthetic"], ImportRoots = ["/data/other", "/data/coco"] }, T0);
        Assert.Equal(["coco"], Assert.Single(_core.AssignReady(T0)).WorkerIds);
    }

    [Fact]
    public void Workers_must_offer_the_device_memory_and_labels_a_run_asks_for()
    {
        _core.Heartbeat("cpu", Cpu(slots: 4), T0);
        _core.Heartbeat("gpu-small", new WorkerCapacity { Slots = 1, Device = "cuda", StageKinds = ["dataset.synthetic"], MemoryGib = 16 }, T0);
        _core.Heartbeat("gpu-big", new WorkerCapacity { Slots = 1, Device = "cuda", StageKinds = ["dataset.synthetic"], MemoryGib = 80, Labels = new() { ["zone"] = "a" } }, T0);
        _core.Enqueue(Run("needs-80g", needs: new ResourceNeeds { Device = "cuda", MemoryGib = 40, Labels = new() { ["zone"] = "a" } }));
        _core.Enqueue(Run("any-cuda", needs: new ResourceNeeds { Device = "cuda" }));
        _core.Enqueue(Run("wrong-zone", needs: new ResourceNeeds { Labels = new() { ["zone"] = "b" } }));

        var assignments = _core.AssignReady(T0).ToDictionary(a => a.Run.RunId, a => a.WorkerIds.Single());

        Assert.Equal(new Dictionary<string, string> { ["needs-80g"] = "gpu-big", ["any-cuda"] = "gpu-small" }, assignments);
        Assert.Equal("wrong-zone", Assert.Single(_core.State.Queue).Request.RunId);
    }

    [Fact]
    public void Slots_bound_how_many_runs_a_worker_takes()
    {
        _core.Heartbeat("w1", Cpu(slots: 3), T0);
        _core.Enqueue(Run("two-slots", needs: new ResourceNeeds { Slots = 2 }));
        _core.Enqueue(Run("also-two", needs: new ResourceNeeds { Slots = 2 }));
        _core.Enqueue(Run("one"));

        Assert.Equal(["two-slots", "one"], Assigned(_core.AssignReady(T0)));
        Assert.Equal(0, _core.Snapshot().Workers.Single().FreeSlots);
    }

    [Fact]
    public void A_lost_worker_that_comes_back_still_running_a_taken_back_run_is_told_to_cancel_it_until_it_drops_it()
    {
        var timeout = TimeSpan.FromSeconds(30);
        _core.Heartbeat("w1", Cpu(slots: 2), T0);
        _core.Heartbeat("w2", Cpu(slots: 1), T0);
        _core.Enqueue(Run("r1"));
        _core.Enqueue(Run("r2"));
        _core.Enqueue(Run("r3"));
        var placed = _core.AssignReady(T0).ToDictionary(run => run.Run.RunId, run => run.WorkerIds.Single());
        Assert.Equal(new Dictionary<string, string> { ["r1"] = "w1", ["r2"] = "w1", ["r3"] = "w2" }, placed);
        List<string> onW1 = ["r1", "r2"];
        _core.Heartbeat("w2", Cpu(slots: 1), T0.AddSeconds(20));
        Assert.Equal(onW1, _core.DetectLost(T0.AddSeconds(31), timeout).Select(lost => lost.Assignment.Run.RunId).Order(StringComparer.Ordinal));

        // Back with both: both are cancelled; the other worker's heartbeat cancels nothing.
        _core.Heartbeat("w1", Cpu(slots: 2), T0.AddSeconds(40));
        Assert.Equal(onW1, Assigned(_core.Superseded("w1", onW1, T0.AddSeconds(40))).Order(StringComparer.Ordinal));
        Assert.Empty(_core.Superseded("w2", ["r3"], T0.AddSeconds(40)));

        // It dropped one: only the other is cancelled again, and once dropped, neither comes back.
        Assert.Equal(["r2"], Assigned(_core.Superseded("w1", ["r2"], T0.AddSeconds(50))));
        Assert.Empty(_core.Superseded("w1", [], T0.AddSeconds(60)));
        Assert.Empty(_core.Superseded("w1", onW1, T0.AddSeconds(70)));
        Assert.Empty(_core.State.TakenBack);
    }

    [Fact]
    public void During_an_outage_nobody_is_lost_and_afterwards_workers_have_the_reconnect_grace_to_be_heard()
    {
        var (timeout, grace) = (TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60));
        _core.Heartbeat("w1", Cpu(slots: 1), T0);
        _core.Heartbeat("w2", Cpu(slots: 1), T0);
        _core.Enqueue(Run("r1"));
        _core.AssignReady(T0);

        Assert.True(_core.Deaf(T0.AddSeconds(10)));
        Assert.False(_core.Deaf(T0.AddSeconds(20)));
        Assert.Empty(_core.DetectLost(T0.AddMinutes(10), timeout, grace));
        Assert.False(_core.State.Workers["w1"].Lost);

        // Heard again at T0 + 10 min, 590 s after the outage was first seen.
        var heard = T0.AddMinutes(10);
        Assert.Equal(TimeSpan.FromSeconds(590), _core.Hearing(heard));
        Assert.Null(_core.Hearing(heard.AddSeconds(5)));
        _core.Heartbeat("w2", Cpu(slots: 1), heard.AddSeconds(40));
        Assert.Empty(_core.DetectLost(heard.AddSeconds(60), timeout, grace));

        var lost = Assert.Single(_core.DetectLost(heard.AddSeconds(61), timeout, grace));
        Assert.Equal(("r1", "w1"), (lost.Assignment.Run.RunId, lost.WorkerId));
        Assert.False(_core.State.Workers["w2"].Lost);

        // After the grace, the heartbeat timeout alone decides again.
        _core.DetectLost(heard.AddSeconds(70), timeout, grace);
        Assert.False(_core.State.Workers["w2"].Lost);
        _core.DetectLost(heard.AddSeconds(71), timeout, grace);
        Assert.True(_core.State.Workers["w2"].Lost);
    }

    [Fact]
    public void A_grace_shorter_than_the_timeout_still_gives_every_worker_the_timeout_after_an_outage()
    {
        var timeout = TimeSpan.FromSeconds(30);
        _core.Heartbeat("w1", Cpu(slots: 1), T0);
        _core.Deaf(T0.AddSeconds(1));
        _core.Hearing(T0.AddSeconds(100));

        _core.DetectLost(T0.AddSeconds(130), timeout, TimeSpan.FromSeconds(5));
        Assert.False(_core.State.Workers["w1"].Lost);
        _core.DetectLost(T0.AddSeconds(131), timeout, TimeSpan.FromSeconds(5));
        Assert.True(_core.State.Workers["w1"].Lost);
    }

    [Fact]
    public void A_taken_back_run_is_forgotten_after_a_day()
    {
        _core.Heartbeat("w1", Cpu(slots: 1), T0);
        _core.Enqueue(Run("r1"));
        _core.AssignReady(T0);
        Assert.Single(_core.DetectLost(T0.AddMinutes(1), TimeSpan.FromSeconds(30)));

        Assert.Equal(["r1"], Assigned(_core.Superseded("w1", ["r1"], T0.AddMinutes(1) + SchedulerCore.TakenBackLifetime)));
        Assert.Empty(_core.Superseded("w1", ["r1"], T0.AddMinutes(1) + SchedulerCore.TakenBackLifetime + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void A_silent_worker_is_lost_after_the_timeout_with_its_runs_and_gets_nothing_more()
    {
        var timeout = TimeSpan.FromSeconds(30);
        _core.Heartbeat("w1", Cpu(slots: 1), T0);
        _core.Heartbeat("w2", Cpu(slots: 1), T0);
        _core.Enqueue(Run("r1", workers: 2));
        _core.AssignReady(T0);
        _core.Heartbeat("w2", Cpu(slots: 1), T0.AddSeconds(20));

        Assert.Empty(_core.DetectLost(T0.AddSeconds(30), timeout));
        var lost = Assert.Single(_core.DetectLost(T0.AddSeconds(31), timeout));

        Assert.Equal(("r1", "w1"), (lost.Assignment.Run.RunId, lost.WorkerId));
        Assert.Empty(_core.State.Running);
        _core.Enqueue(Run("r2"));
        Assert.Equal("w2", Assert.Single(_core.AssignReady(T0.AddSeconds(31))).WorkerIds.Single());

        _core.Heartbeat("w1", Cpu(slots: 1), T0.AddSeconds(40));
        Assert.False(_core.State.Workers["w1"].Lost);
    }

    [Fact]
    public void A_run_its_worker_no_longer_reports_is_lost_once_left_out_for_longer_than_the_grace_period()
    {
        _core.Heartbeat("w1", Cpu(slots: 2), T0);
        _core.Enqueue(Run("kept"));
        _core.Enqueue(Run("forgotten"));
        _core.AssignReady(T0);

        Assert.Empty(_core.Reconcile("w1", ["kept"], T0.AddSeconds(5), TimeSpan.FromSeconds(30)));
        Assert.Empty(_core.Reconcile("w1", ["kept"], T0.AddSeconds(35), TimeSpan.FromSeconds(30)));
        var lost = Assert.Single(_core.Reconcile("w1", ["kept"], T0.AddSeconds(36), TimeSpan.FromSeconds(30)));

        Assert.Equal("forgotten", lost.Assignment.Run.RunId);
        Assert.Equal(["kept"], _core.State.Running.Keys);
        Assert.Empty(_core.State.MissingSince);
    }

    [Fact]
    public void A_long_running_run_that_just_finished_gets_the_grace_period_for_its_final_report()
    {
        _core.Heartbeat("w1", Cpu(slots: 1), T0);
        _core.Enqueue(Run("r"));
        _core.AssignReady(T0);
        Assert.Empty(_core.Reconcile("w1", ["r"], T0.AddHours(2), TimeSpan.FromSeconds(30)));

        // The worker published the final report, then dropped the run from its heartbeats; the report is late.
        Assert.Empty(_core.Reconcile("w1", [], T0.AddHours(2).AddSeconds(1), TimeSpan.FromSeconds(30)));
        Assert.Empty(_core.Reconcile("w1", [], T0.AddHours(2).AddSeconds(2), TimeSpan.FromSeconds(30)));
        Assert.NotNull(_core.Release("r"));

        Assert.Empty(_core.State.Running);
        Assert.Empty(_core.State.MissingSince);
    }

    [Fact]
    public void A_run_adopted_after_a_restart_is_not_lost_at_once_for_an_old_assignment_time()
    {
        _core.Heartbeat("w1", Cpu(slots: 1), T0);
        var assignment = new RunAssignment { Run = Run("r"), WorkerIds = ["w1"], AssignedAt = T0.AddMinutes(-10) };
        Assert.True(_core.Adopt(assignment, T0));

        Assert.Empty(_core.Reconcile("w1", [], T0.AddSeconds(1), TimeSpan.FromSeconds(30)));
        Assert.Single(_core.Reconcile("w1", [], T0.AddSeconds(32), TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void A_run_listed_again_starts_its_grace_period_afresh()
    {
        _core.Heartbeat("w1", Cpu(slots: 1), T0);
        _core.Enqueue(Run("r"));
        _core.AssignReady(T0);

        Assert.Empty(_core.Reconcile("w1", [], T0.AddSeconds(5), TimeSpan.FromSeconds(30)));
        Assert.Empty(_core.Reconcile("w1", ["r"], T0.AddSeconds(10), TimeSpan.FromSeconds(30)));
        Assert.Empty(_core.Reconcile("w1", [], T0.AddSeconds(20), TimeSpan.FromSeconds(30)));
        Assert.Empty(_core.Reconcile("w1", [], T0.AddSeconds(50), TimeSpan.FromSeconds(30)));
        Assert.Single(_core.Reconcile("w1", [], T0.AddSeconds(51), TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void Enqueueing_the_same_run_twice_queues_it_once()
    {
        Assert.True(_core.Enqueue(Run("r")));
        Assert.False(_core.Enqueue(Run("r")));
        Assert.Single(_core.State.Queue);
    }

    private static List<string> Assigned(List<RunAssignment> assignments) => [.. assignments.Select(a => a.Run.RunId)];

    /// <summary>A CPU worker that can join gangs (it has Gloo).</summary>
    private static WorkerCapacity Cpu(int slots) => new() { Slots = slots, Device = "cpu", StageKinds = ["dataset.synthetic"], CollectiveBackends = ["gloo"] };

    private static RunRequest Run(string runId, int priority = 0, int workers = 1, ResourceNeeds? needs = null) => new()
    {
        RunId = runId,
        Attempt = 1,
        ExperimentId = "exp",
        StageId = runId,
        Kind = "dataset.synthetic",
        OptionsJson = "{}",
        Inputs = [],
        Resources = needs ?? new ResourceNeeds { Workers = workers },
        Priority = priority,
        ReadyAt = T0,
    };
}
