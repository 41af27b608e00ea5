using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Specs;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Tests.Lifecycle;

[Collection(ClusterCollection.Name)]
public sealed class StageLifecycleTests(ClusterFixture fixture)
{
    private const string Chain = """
        - { id: data, kind: dataset.synthetic }
        - { id: pretrain, kind: blip.pretrain, inputs: { train: data.web } }
        - { id: caption, kind: blip.finetune.caption, inputs: { init: pretrain.checkpoint, train: data.human } }
        """;

    private readonly LifecycleDriver _driver = new(fixture);

    [Fact]
    public async Task Stages_run_in_dependency_order_and_consume_their_upstream_outputs()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = await _driver.SubmitAsync(Chain);

        var data = await _driver.Dispatcher.WaitForStartAsync(id, "data");
        Assert.Equal([_driver.WorkerId("w1")], data.WorkerIds);
        Assert.Single(_driver.Dispatcher.StartedFor(id));
        var dataOutputs = await _driver.CompleteAsync(data);

        var pretrain = await _driver.Dispatcher.WaitForStartAsync(id, "pretrain");
        Assert.Equal([dataOutputs["web"]], pretrain.Run.Inputs["train"]);
        Assert.Null(pretrain.Run.ResumeFrom);
        var pretrainOutputs = await _driver.CompleteAsync(pretrain);

        var caption = await _driver.Dispatcher.WaitForStartAsync(id, "caption");
        Assert.Equal([pretrainOutputs["checkpoint"]], caption.Run.Inputs["init"]);
        Assert.Equal([dataOutputs["human"]], caption.Run.Inputs["train"]);
        await _driver.CompleteAsync(caption);

        var view = await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);
        Assert.All(view.Stages, stage => Assert.Equal(StageStatus.Succeeded, stage.Status));
        var attempt = Assert.Single(LifecycleDriver.StageOf(view, "pretrain").Attempts);
        Assert.Equal((1, StageStatus.Succeeded), (attempt.Attempt, attempt.Outcome));
        Assert.Equal([_driver.WorkerId("w1")], attempt.WorkerIds);
        Assert.Equal(pretrainOutputs, LifecycleDriver.StageOf(view, "pretrain").Outputs);
        Assert.NotNull(view.EndedAt);
    }

    [Fact]
    public async Task A_stage_of_a_kind_no_registered_worker_runs_stays_queued_until_a_worker_that_runs_it_registers()
    {
        await _driver.RegisterWorkerAsync("imports-only", slots: 4, kinds: ["dataset.import"]);
        var id = await _driver.SubmitAsync(Chain);

        await _driver.Scheduler.CheckWorkersAsync();
        var waiting = await _driver.WaitForAsync(id, view => LifecycleDriver.StageOf(view, "data").Status == StageStatus.Queued);
        Assert.Empty(_driver.Dispatcher.StartedFor(id));
        Assert.Equal(ExperimentStatus.Running, waiting.Status);

        await _driver.RegisterWorkerAsync("synthetic", kinds: ["dataset.synthetic"]);
        var data = await _driver.Dispatcher.WaitForStartAsync(id, "data");
        Assert.Equal([_driver.WorkerId("synthetic")], data.WorkerIds);
    }

    [Fact]
    public async Task The_experiment_is_told_only_of_the_stage_changes_it_did_not_ask_for()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = await _driver.SubmitAsync(Chain);
        foreach (var stage in new[] { "data", "pretrain", "caption" })
        {
            await _driver.CompleteAsync(await _driver.Dispatcher.WaitForStartAsync(id, stage));
        }

        await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);

        // Each stage was queued by the experiment, which learnt that from the answer; its start and its success came
        // from the worker's reports, and each of those is one call to the experiment: two per stage, not three.
        var experiment = _driver.Experiment(id).GetGrainId();
        Assert.Equal(3 * 2, ClusterFixture.Calls.Count(experiment, nameof(IExperimentGrain.OnStageChangedAsync)));
    }

    [Fact]
    public async Task A_retryable_failure_waits_out_an_exponential_backoff_and_resumes_from_the_last_checkpoint()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = await _driver.SubmitAsync(Chain, stageFields: ", retry: { max_attempts: 3, initial_backoff: 10s, multiplier: 2, max_backoff: 1m }");
        var first = await _driver.Dispatcher.WaitForStartAsync(id, "data");
        var checkpoint = LifecycleDriver.Checkpoint(first, 200);
        await _driver.Stage(first).ReportStartedAsync(new RunStartedReport(first.Run.RunId, first.WorkerIds[0]));
        await _driver.Stage(first).ReportCheckpointAsync(new RunCheckpointReport(first.Run.RunId, checkpoint));

        var failedAt = ClusterFixture.Time.GetUtcNow();
        Assert.Equal(ReportOutcome.Applied, await _driver.FailAsync(first, retryable: true));

        var waiting = await _driver.Stage(id, "data").GetAsync();
        Assert.Equal(StageStatus.Queued, waiting.Status);
        Assert.Equal(failedAt + TimeSpan.FromSeconds(10), waiting.RetryAt);
        Assert.Equal((StageStatus.Failed, true, "boom"), (waiting.Attempts[0].Outcome, waiting.Attempts[0].Retryable, waiting.Attempts[0].Error));

        ClusterFixture.Time.Advance(TimeSpan.FromSeconds(9));
        await _driver.TickRetryAsync(id, "data");
        Assert.Single((await _driver.Stage(id, "data").GetAsync()).Attempts);

        ClusterFixture.Time.Advance(TimeSpan.FromSeconds(1));
        await _driver.TickRetryAsync(id, "data");
        var second = await _driver.Dispatcher.WaitForStartAsync(id, "data", attempt: 2);
        Assert.Equal(checkpoint, second.Run.ResumeFrom);
        Assert.NotEqual(first.Run.RunId, second.Run.RunId);

        await _driver.FailAsync(second, retryable: true);
        Assert.Equal(ClusterFixture.Time.GetUtcNow() + TimeSpan.FromSeconds(20), (await _driver.Stage(id, "data").GetAsync()).RetryAt);
        ClusterFixture.Time.Advance(TimeSpan.FromSeconds(20));
        await _driver.TickRetryAsync(id, "data");
        var third = await _driver.Dispatcher.WaitForStartAsync(id, "data", attempt: 3);

        await _driver.FailAsync(third, retryable: true);
        var view = await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Failed);
        var data = LifecycleDriver.StageOf(view, "data");
        Assert.Equal((StageStatus.Failed, 3, null), (data.Status, data.Attempts.Count, data.RetryAt));
        Assert.Equal(StageStatus.Pending, LifecycleDriver.StageOf(view, "pretrain").Status);
    }

    [Fact]
    public async Task A_permanent_failure_fails_the_stage_at_once_and_resume_reruns_it_from_its_checkpoint()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = await _driver.SubmitAsync(Chain);
        var data = await _driver.CompleteAsync(await _driver.Dispatcher.WaitForStartAsync(id, "data"));
        var pretrain = await _driver.Dispatcher.WaitForStartAsync(id, "pretrain");
        var checkpoint = LifecycleDriver.Checkpoint(pretrain, 300);

        await _driver.FailAsync(pretrain, retryable: false, checkpoint);

        var failed = await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Failed);
        Assert.Equal(StageStatus.Failed, LifecycleDriver.StageOf(failed, "pretrain").Status);
        Assert.Null(LifecycleDriver.StageOf(failed, "pretrain").RetryAt);
        Assert.Equal(StageStatus.Pending, LifecycleDriver.StageOf(failed, "caption").Status);

        var resumed = await _driver.Experiment(id).ResumeAsync();
        Assert.Equal(ExperimentStatus.Running, resumed!.Status);
        var retry = await _driver.Dispatcher.WaitForStartAsync(id, "pretrain", attempt: 2);
        Assert.Equal(checkpoint, retry.Run.ResumeFrom);
        Assert.Equal([data["web"]], retry.Run.Inputs["train"]);
        await _driver.CompleteAsync(retry);
        await _driver.CompleteAsync(await _driver.Dispatcher.WaitForStartAsync(id, "caption"));

        var view = await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);
        Assert.Single(LifecycleDriver.StageOf(view, "data").Attempts);
        Assert.Equal(2, LifecycleDriver.StageOf(view, "pretrain").Attempts.Count);
    }

    [Fact]
    public async Task Rerun_reruns_the_stage_and_its_downstream_from_scratch_and_reuses_upstream_outputs()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = await _driver.SubmitAsync(Chain);
        var data = await _driver.CompleteAsync(await _driver.Dispatcher.WaitForStartAsync(id, "data"));
        var pretrain = await _driver.Dispatcher.WaitForStartAsync(id, "pretrain");
        await _driver.Stage(pretrain).ReportCheckpointAsync(new RunCheckpointReport(pretrain.Run.RunId, LifecycleDriver.Checkpoint(pretrain, 10)));
        await _driver.CompleteAsync(pretrain);
        await _driver.CompleteAsync(await _driver.Dispatcher.WaitForStartAsync(id, "caption"));
        await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);

        await _driver.Experiment(id).RerunStageAsync("pretrain");

        var again = await _driver.Dispatcher.WaitForStartAsync(id, "pretrain", attempt: 2);
        Assert.Null(again.Run.ResumeFrom);
        Assert.Equal([data["web"]], again.Run.Inputs["train"]);
        var newCheckpoint = await _driver.CompleteAsync(again);
        var caption = await _driver.Dispatcher.WaitForStartAsync(id, "caption", attempt: 2);
        Assert.Equal([newCheckpoint["checkpoint"]], caption.Run.Inputs["init"]);
        await _driver.CompleteAsync(caption);

        var view = await _driver.WaitForAsync(id, view => view.Status == ExperimentStatus.Succeeded);
        Assert.Single(LifecycleDriver.StageOf(view, "data").Attempts);
        Assert.Equal(2, LifecycleDriver.StageOf(view, "caption").Attempts.Count);
    }

    [Fact]
    public async Task Cancel_stops_active_runs_on_their_workers_and_skips_stages_that_never_ran()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = await _driver.SubmitAsync(Chain);
        var data = await _driver.Dispatcher.WaitForStartAsync(id, "data");
        await _driver.Stage(data).ReportStartedAsync(new RunStartedReport(data.Run.RunId, data.WorkerIds[0]));

        var view = await _driver.Experiment(id).CancelAsync();

        Assert.Equal(ExperimentStatus.Cancelled, view!.Status);
        Assert.Equal(
            [StageStatus.Cancelled, StageStatus.Skipped, StageStatus.Skipped],
            view.Stages.Select(stage => stage.Status).ToArray());
        var cancel = Assert.Single(_driver.Dispatcher.Cancelled(data.Run.RunId));
        Assert.Equal([_driver.WorkerId("w1")], cancel.WorkerIds);
        Assert.Equal("cancelled by the user", cancel.Reason);

        // The worker's late report changes nothing.
        Assert.Equal(ReportOutcome.Duplicate, await _driver.Stage(data).ReportCompletedAsync(new RunCompletedReport { RunId = data.Run.RunId, Outputs = [] }));
        Assert.Equal(StageStatus.Cancelled, (await _driver.Stage(id, "data").GetAsync()).Status);

        await _driver.Experiment(id).ResumeAsync();
        await _driver.Dispatcher.WaitForStartAsync(id, "data", attempt: 2);
    }

    [Fact]
    public async Task A_lost_worker_fails_its_run_as_retryable_the_retry_goes_to_another_worker_from_the_checkpoint_and_the_old_run_is_cancelled_when_it_returns()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = await _driver.SubmitAsync(Chain);
        var first = await _driver.Dispatcher.WaitForStartAsync(id, "data");
        var checkpoint = LifecycleDriver.Checkpoint(first, 50);
        await _driver.Stage(first).ReportStartedAsync(new RunStartedReport(first.Run.RunId, first.WorkerIds[0]));
        await _driver.Stage(first).ReportCheckpointAsync(new RunCheckpointReport(first.Run.RunId, checkpoint));

        ClusterFixture.Time.Advance(ClusterFixture.HeartbeatTimeout + TimeSpan.FromSeconds(1));
        await _driver.RegisterWorkerAsync("w2");
        await _driver.Scheduler.CheckWorkersAsync();

        var lost = await _driver.WaitForAsync(id, view => LifecycleDriver.StageOf(view, "data").RetryAt is not null);
        var attempt = LifecycleDriver.StageOf(lost, "data").Attempts[0];
        Assert.Equal((StageStatus.Failed, true), (attempt.Outcome, attempt.Retryable));
        Assert.Equal($"worker {_driver.WorkerId("w1")} was lost: no heartbeat for 30 s", attempt.Error);
        Assert.Contains((await _driver.Scheduler.GetSnapshotAsync()).Workers, worker => worker.WorkerId == _driver.WorkerId("w1") && worker.Lost);

        ClusterFixture.Time.Advance(TimeSpan.FromSeconds(10));
        await _driver.TickRetryAsync(id, "data");
        var second = await _driver.Dispatcher.WaitForStartAsync(id, "data", attempt: 2);
        Assert.Equal([_driver.WorkerId("w2")], second.WorkerIds);
        Assert.Equal(checkpoint, second.Run.ResumeFrom);

        // The lost worker comes back still running the old run: it is told to cancel it, and its report is fenced.
        await _driver.RegisterWorkerAsync("w1", 1, kinds: null, first.Run.RunId);
        var cancel = Assert.Single(_driver.Dispatcher.Cancelled(first.Run.RunId));
        Assert.Equal([_driver.WorkerId("w1")], cancel.WorkerIds);
        Assert.Empty(_driver.Dispatcher.Cancelled(second.Run.RunId));
        Assert.Equal(ReportOutcome.Stale, await _driver.Stage(first).ReportCompletedAsync(new RunCompletedReport { RunId = first.Run.RunId, Outputs = [] }));
        await _driver.CompleteAsync(second);
        var view = await _driver.WaitForAsync(id, view => LifecycleDriver.StageOf(view, "data").Status == StageStatus.Succeeded);
        Assert.Equal([1, 2], LifecycleDriver.StageOf(view, "data").Attempts.Select(a => a.Attempt).ToArray());
    }

    [Fact]
    public async Task A_broker_outage_loses_no_worker_and_afterwards_a_silent_worker_is_lost_once_the_reconnect_grace_has_passed()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = await _driver.SubmitAsync(Chain);
        var run = await _driver.Dispatcher.WaitForStartAsync(id, "data");
        await _driver.Stage(run).ReportStartedAsync(new RunStartedReport(run.Run.RunId, run.WorkerIds[0]));

        ClusterFixture.Transport.Down();
        try
        {
            ClusterFixture.Time.Advance(TimeSpan.FromSeconds(5));
            await _driver.Scheduler.CheckWorkersAsync();
            ClusterFixture.Time.Advance(TimeSpan.FromMinutes(10));
            await _driver.Scheduler.CheckWorkersAsync();
        }
        finally
        {
            ClusterFixture.Transport.Up();
        }

        await _driver.Scheduler.CheckWorkersAsync();
        ClusterFixture.Time.Advance(ClusterFixture.ReconnectGrace);
        await _driver.Scheduler.CheckWorkersAsync();
        Assert.Contains((await _driver.Scheduler.GetSnapshotAsync()).Workers, worker => worker.WorkerId == _driver.WorkerId("w1") && !worker.Lost);
        var stage = await _driver.Stage(run).GetAsync();
        Assert.Equal((StageStatus.Running, 1), (stage.Status, stage.Attempts.Count));
        Assert.Empty(_driver.Dispatcher.Cancelled(run.Run.RunId));

        ClusterFixture.Time.Advance(TimeSpan.FromSeconds(1));
        await _driver.Scheduler.CheckWorkersAsync();
        var lost = await _driver.WaitForAsync(id, view => LifecycleDriver.StageOf(view, "data").RetryAt is not null);
        Assert.Equal($"worker {_driver.WorkerId("w1")} was lost: no heartbeat for 30 s", LifecycleDriver.StageOf(lost, "data").Attempts[0].Error);
    }

    [Fact]
    public void A_gang_of_a_kind_that_trains_on_one_worker_is_refused_at_submission()
    {
        // Gang assignment itself: SchedulerCoreTests, and GangTests end to end with real workers.
        var prepared = ExperimentDrafts.Prepare(
            "name: lifecycle\nstages:\n- { id: data, kind: dataset.synthetic, resources: { workers: 2 } }", SpecFormat.Yaml, "exp-gang");

        var error = Assert.Single(prepared.Errors);
        Assert.Equal("/stages/0/resources/workers", error.Path);
        Assert.Equal(
            "workers is 2, but kind dataset.synthetic runs on one worker; gangs of workers train blip.pretrain, blip.finetune.caption, blip.finetune.retrieval, blip.finetune.vqa, blip.finetune.nlvr2, blip2.stage1, llm.pretrain, blip2.stage2, blip2.finetune.caption, blip2.finetune.retrieval, blip2.finetune.vqa; ask for workers: 1",
            error.Message);
    }

    [Fact]
    public async Task The_rendezvous_store_belongs_to_the_current_run_sets_each_key_once_and_starts_empty_for_the_next_generation()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = await _driver.SubmitAsync("- { id: data, kind: dataset.synthetic, retry: { initial_backoff: 1s } }");
        var first = await _driver.Dispatcher.WaitForStartAsync(id, "data");
        var stage = _driver.Stage(first);
        var run = first.Run.RunId;

        Assert.Equal(RendezvousOutcome.Missing, (await stage.RendezvousGetAsync(run, "nccl/unique-id")).Outcome);
        Assert.Equal(RendezvousOutcome.Ok, (await stage.RendezvousSetAsync(run, "nccl/unique-id", [1, 2])).Outcome);
        Assert.Equal(RendezvousOutcome.Ok, (await stage.RendezvousSetAsync(run, "nccl/unique-id", [1, 2])).Outcome); // the same value again: a retried request
        Assert.Equal([1, 2], (await stage.RendezvousGetAsync(run, "nccl/unique-id")).Value);
        var conflict = await stage.RendezvousSetAsync(run, "nccl/unique-id", [3]);
        var tooLarge = await stage.RendezvousSetAsync(run, "big", new byte[StageGrain.RendezvousMaxValueBytes + 1]);
        var longKey = await stage.RendezvousSetAsync(run, new string('k', StageGrain.RendezvousMaxKeyLength + 1), [1]);
        var stale = await stage.RendezvousGetAsync("made-up-run", "nccl/unique-id");

        Assert.Equal((RendezvousOutcome.Refused, $"rendezvous key 'nccl/unique-id' of run {run} is already set to another value; each key is set once per generation"), (conflict.Outcome, conflict.Error));
        Assert.Equal((RendezvousOutcome.Refused, "rendezvous value of key 'big' has 65537 bytes, more than the 65536 a run may set; rendezvous values are addresses and ids"), (tooLarge.Outcome, tooLarge.Error));
        Assert.Equal((RendezvousOutcome.Refused, "rendezvous key of 257 characters; a key has 1 to 256 characters, e.g. 'nccl/unique-id'"), (longKey.Outcome, longKey.Error));
        Assert.Equal((RendezvousOutcome.Stale, "run made-up-run is not the stage's current run: its generation is over"), (stale.Outcome, stale.Error));

        await _driver.FailAsync(first, retryable: true);
        ClusterFixture.Time.Advance(TimeSpan.FromSeconds(1));
        await _driver.TickRetryAsync(id, "data");
        var second = await _driver.Dispatcher.WaitForStartAsync(id, "data", attempt: 2);

        Assert.Equal(RendezvousOutcome.Stale, (await stage.RendezvousGetAsync(run, "nccl/unique-id")).Outcome);
        Assert.Equal(RendezvousOutcome.Missing, (await stage.RendezvousGetAsync(second.Run.RunId, "nccl/unique-id")).Outcome);
    }

    [Fact]
    public async Task Stale_and_duplicate_reports_change_nothing_and_are_counted()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = await _driver.SubmitAsync("- { id: data, kind: dataset.synthetic, retry: { initial_backoff: 1s } }");
        var first = await _driver.Dispatcher.WaitForStartAsync(id, "data");
        var stage = _driver.Stage(first);
        await stage.ReportStartedAsync(new RunStartedReport(first.Run.RunId, first.WorkerIds[0]));
        Assert.Equal(ReportOutcome.Duplicate, await stage.ReportStartedAsync(new RunStartedReport(first.Run.RunId, first.WorkerIds[0])));
        Assert.Equal(ReportOutcome.Applied, await stage.ReportProgressAsync(new RunProgressReport { RunId = first.Run.RunId, Step = 5, TotalSteps = 10 }));
        Assert.Equal(ReportOutcome.Duplicate, await stage.ReportProgressAsync(new RunProgressReport { RunId = first.Run.RunId, Step = 5, TotalSteps = 10 }));
        await _driver.FailAsync(first, retryable: true);
        ClusterFixture.Time.Advance(TimeSpan.FromSeconds(1));
        await _driver.TickRetryAsync(id, "data");
        var second = await _driver.Dispatcher.WaitForStartAsync(id, "data", attempt: 2);

        Assert.Equal(ReportOutcome.Stale, await stage.ReportCompletedAsync(new RunCompletedReport { RunId = first.Run.RunId, Outputs = [] }));
        Assert.Equal(ReportOutcome.Stale, await stage.ReportProgressAsync(new RunProgressReport { RunId = first.Run.RunId, Step = 9 }));
        Assert.Equal(ReportOutcome.Stale, await stage.ReportStartedAsync(new RunStartedReport("made-up-run", "w9")));
        var before = await stage.GetAsync();
        Assert.Equal((StageStatus.Queued, 3, 2), (before.Status, (int)before.StaleReports, (int)before.DuplicateReports));

        await _driver.CompleteAsync(second);
        Assert.Equal(ReportOutcome.Duplicate, await stage.ReportCompletedAsync(new RunCompletedReport { RunId = second.Run.RunId, Outputs = [] }));
        var after = await stage.GetAsync();
        Assert.Equal((StageStatus.Succeeded, 3), (after.Status, (int)after.DuplicateReports));
        Assert.NotEmpty(after.Outputs);
    }

    [Fact]
    public async Task Checkpoints_reported_out_of_order_keep_the_newest_even_after_the_run_ended()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = await _driver.SubmitAsync("- { id: data, kind: dataset.synthetic, retry: { initial_backoff: 1s } }");
        var first = await _driver.Dispatcher.WaitForStartAsync(id, "data");
        var stage = _driver.Stage(first);
        await stage.ReportStartedAsync(new RunStartedReport(first.Run.RunId, first.WorkerIds[0]));
        Assert.Equal(ReportOutcome.Applied, await stage.ReportCheckpointAsync(new RunCheckpointReport(first.Run.RunId, LifecycleDriver.Checkpoint(first, 20))));
        Assert.Equal(ReportOutcome.Superseded, await stage.ReportCheckpointAsync(new RunCheckpointReport(first.Run.RunId, LifecycleDriver.Checkpoint(first, 10))));
        Assert.Equal(20, (await stage.GetAsync()).LastCheckpoint?.Step);

        // The run ends before its last checkpoint's report arrives (a broker backlog is consumed concurrently).
        await _driver.CompleteAsync(first);
        Assert.Equal(ReportOutcome.Applied, await stage.ReportCheckpointAsync(new RunCheckpointReport(first.Run.RunId, LifecycleDriver.Checkpoint(first, 30))));
        Assert.Equal(ReportOutcome.Duplicate, await stage.ReportCheckpointAsync(new RunCheckpointReport(first.Run.RunId, LifecycleDriver.Checkpoint(first, 30))));
        var ended = await stage.GetAsync();
        Assert.Equal((StageStatus.Succeeded, 30L, 30L), (ended.Status, ended.LastCheckpoint?.Step, ended.Attempts[^1].LastCheckpoint?.Step));
        Assert.Equal(ReportOutcome.Stale, await stage.ReportCheckpointAsync(new RunCheckpointReport("made-up-run", LifecycleDriver.Checkpoint(first, 40))));
    }

    [Fact]
    public async Task Progress_gives_an_eta_from_the_rate_seen_so_far()
    {
        await _driver.RegisterWorkerAsync("w1");
        var id = await _driver.SubmitAsync("- { id: data, kind: dataset.synthetic }");
        var run = await _driver.Dispatcher.WaitForStartAsync(id, "data");
        var stage = _driver.Stage(run);

        await stage.ReportProgressAsync(new RunProgressReport { RunId = run.Run.RunId, Step = 10, TotalSteps = 110, Metrics = new() { ["loss_itc"] = 2.5 } });
        ClusterFixture.Time.Advance(TimeSpan.FromSeconds(20));
        await stage.ReportProgressAsync(new RunProgressReport { RunId = run.Run.RunId, Step = 30, TotalSteps = 110, Epoch = 1, Metrics = new() { ["loss_itc"] = 1.5 } });

        var view = await stage.GetAsync();
        Assert.Equal(StageStatus.Running, view.Status);
        Assert.Equal((30L, 110L, 1, 80.0), (view.Progress!.Step, view.Progress.TotalSteps!.Value, view.Progress.Epoch!.Value, view.Progress.EtaSeconds!.Value));
        Assert.Equal(1.5, view.Metrics["loss_itc"]);
    }
}
