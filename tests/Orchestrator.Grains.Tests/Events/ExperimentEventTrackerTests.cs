using Orchestrator.Grains.Events;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Tests.Events;

public sealed class ExperimentEventTrackerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_snapshot_gives_every_stage_then_progress_then_the_experiment_status()
    {
        var tracker = new ExperimentEventTracker();

        var events = tracker.CatchUp(View(ExperimentStatus.Running, Stage("a", StageStatus.Running, 2, step: 5), Stage("b", StageStatus.Pending, 0)));

        Assert.Equal(
            [(ExperimentEventType.Stage, "a"), (ExperimentEventType.Stage, "b"), (ExperimentEventType.Progress, "a"), (ExperimentEventType.Experiment, null)],
            events.Select(change => (change.Type, change.StageId)).ToList());
        Assert.False(tracker.Ended);
    }

    [Fact]
    public void Live_events_and_snapshots_pass_each_change_once_and_drop_late_ones()
    {
        var tracker = new ExperimentEventTracker();
        tracker.CatchUp(View(ExperimentStatus.Running, Stage("a", StageStatus.Running, 2, step: 5)));

        // A live event older than the snapshot (version 1), a repeat, then news.
        Assert.False(tracker.Accept(ExperimentEvent.ForStage("exp", Stage("a", StageStatus.Queued, 1))));
        Assert.False(tracker.Accept(ExperimentEvent.ForStage("exp", Stage("a", StageStatus.Running, 2))));
        Assert.False(tracker.Accept(ExperimentEvent.ForProgress("exp", Stage("a", StageStatus.Running, 2, step: 5))!));
        Assert.True(tracker.Accept(ExperimentEvent.ForProgress("exp", Stage("a", StageStatus.Running, 2, step: 6))!));
        Assert.True(tracker.Accept(ExperimentEvent.ForStage("exp", Stage("a", StageStatus.Succeeded, 3))));

        // A snapshot after all that has nothing new but the status the live stream lost.
        var late = tracker.CatchUp(View(ExperimentStatus.Succeeded, Stage("a", StageStatus.Succeeded, 3)));

        Assert.Equal([ExperimentEventType.Experiment], late.Select(change => change.Type));
        Assert.True(late[0].IsFinal);
        Assert.True(tracker.Ended);
        Assert.False(tracker.Accept(ExperimentEvent.ForStage("exp", Stage("a", StageStatus.Pending, 4))));
    }

    [Fact]
    public void A_new_run_of_a_stage_starts_its_progress_again()
    {
        var tracker = new ExperimentEventTracker();
        Assert.True(tracker.Accept(ExperimentEvent.ForProgress("exp", Stage("a", StageStatus.Running, 2, step: 50, run: "r1"))!));

        Assert.True(tracker.Accept(ExperimentEvent.ForProgress("exp", Stage("a", StageStatus.Running, 5, step: 10, run: "r2"))!));
        Assert.False(tracker.Accept(ExperimentEvent.ForProgress("exp", Stage("a", StageStatus.Running, 5, step: 10, run: "r2"))!));
    }

    [Fact]
    public void Progress_of_a_run_whose_end_a_snapshot_told_first_is_dropped()
    {
        // On a loaded machine the stream can deliver a run's last steps after the feed's catch-up read saw the stage
        // succeed; passed on, they would put progress after the stage's Succeeded.
        var tracker = new ExperimentEventTracker();
        tracker.CatchUp(View(ExperimentStatus.Running, Stage("a", StageStatus.Running, 2, step: 5)));
        Assert.Equal([ExperimentEventType.Stage], tracker.CatchUp(View(ExperimentStatus.Running, Stage("a", StageStatus.Succeeded, 3))).Select(change => change.Type));

        Assert.False(tracker.Accept(ExperimentEvent.ForProgress("exp", Stage("a", StageStatus.Running, 2, step: 6))!));

        // A later run (after a rerun, say) makes progress at the version of its own Running, and that is news.
        Assert.True(tracker.Accept(ExperimentEvent.ForStage("exp", Stage("a", StageStatus.Running, 5, run: "r2"))));
        Assert.True(tracker.Accept(ExperimentEvent.ForProgress("exp", Stage("a", StageStatus.Running, 5, step: 1, run: "r2"))!));
    }

    [Fact]
    public void Failed_and_cancelled_are_final_like_succeeded()
    {
        Assert.True(ExperimentEvent.ForExperiment("exp", ExperimentStatus.Failed, T0).IsFinal);
        Assert.True(ExperimentEvent.ForExperiment("exp", ExperimentStatus.Cancelled, T0).IsFinal);
        Assert.False(ExperimentEvent.ForExperiment("exp", ExperimentStatus.Running, T0).IsFinal);
    }

    private static ExperimentView View(ExperimentStatus status, params StageView[] stages) => new()
    {
        Id = "exp",
        Name = "n",
        Status = status,
        CreatedAt = T0,
        Labels = [],
        Stages = [.. stages],
    };

    private static StageView Stage(string id, StageStatus status, long version, long? step = null, string run = "r1") => new()
    {
        Id = id,
        Kind = "dataset.synthetic",
        Status = status,
        Version = version,
        ChangedAt = T0.AddSeconds(version),
        Upstream = [],
        Attempts = status == StageStatus.Pending ? [] : [new StageAttempt { Attempt = 1, RunId = run, QueuedAt = T0 }],
        Inputs = [],
        Outputs = [],
        Metrics = [],
        Progress = step is { } s ? new ProgressView { Step = s, TotalSteps = 100, UpdatedAt = T0.AddSeconds(s) } : null,
    };
}
