using System.Security.Cryptography;
using System.Text;
using Orchestrator.Artifacts;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Agent;
using Trainer.Worker.Runners;

namespace Trainer.Worker.Tests.Agent;

public sealed class StageRunLifecycleTests
{
    [Fact]
    public async Task A_run_reports_started_progress_checkpoint_and_completed_with_its_outputs()
    {
        await using var worker = await WorkerHarness.StartAsync();

        await worker.SendAsync(WorkerHarness.Run("run-1"));
        var completed = await worker.PublishedAsync<StageRunCompleted>(message => message.RunId == "run-1");
        await worker.RunEndedAsync("run-1");

        var reports = worker.PublishedSoFar().OfType<IStageRunMessage>().Where(message => message.RunId == "run-1").ToList();
        Assert.Equal(
            [nameof(StageRunStarted), nameof(StageRunProgressed), nameof(StageRunProgressed), nameof(CheckpointSaved), nameof(StageRunProgressed), nameof(StageRunCompleted)],
            reports.Select(report => report.GetType().Name));

        var started = Assert.IsType<StageRunStarted>(reports[0]);
        Assert.Equal(("exp-1", "data", WorkerHarness.WorkerId, 0), (started.ExperimentId, started.StageId, started.WorkerId, started.Rank));

        var progress = reports.OfType<StageRunProgressed>().ToList();
        Assert.Equal([1L, 2L, 3L], progress.Select(report => report.Step));
        Assert.All(progress, report => Assert.Equal((3L, 0), (report.TotalSteps, report.Epoch)));
        Assert.Equal([1.0, 0.5, 1.0 / 3], progress.Select(report => report.Metrics["loss"]));

        var saved = Assert.Single(reports.OfType<CheckpointSaved>());
        Assert.Equal(2, saved.Step);
        var manifestBytes = await File.ReadAllBytesAsync(new Uri(saved.Checkpoint.Uri).LocalPath);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(manifestBytes)), saved.Sha256);
        Assert.Equal(saved.Sha256, saved.Checkpoint.Sha256);
        Assert.Equal("checkpoint.dataset.synthetic", saved.Checkpoint.Type);
        var checkpoint = await worker.Store.FetchAsync(saved.Checkpoint);
        Assert.Equal("2", await File.ReadAllTextAsync(Path.Combine(checkpoint.Directory, CheckpointingRunner.StepFile)));
        var draft = checkpoint.Manifest.Draft;
        Assert.Equal(("exp-1", "data", "run-1", "checkpoint-step-000002", 2L), (draft.ExperimentId, draft.StageId, draft.RunId, draft.Name, draft.Step));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("{}"))), draft.OptionsHash);

        var web = Assert.Single(completed.Outputs, output => output.Key == "web").Value;
        Assert.Single(completed.Outputs);
        Assert.Equal("dataset", web.Type);
        var dataset = await worker.Store.FetchAsync(web);
        Assert.Equal("2000 captions", await File.ReadAllTextAsync(Path.Combine(dataset.Directory, "captions.txt")));
        Assert.Equal(3.0, completed.Metrics["steps"]);

        Assert.Empty(worker.Agent.ActiveRunIds);
        Assert.False(Directory.Exists(Path.Combine(worker.WorkDirectory, "run-run-1")));
    }

    [Fact]
    public async Task The_start_message_is_acknowledged_while_the_run_is_still_going()
    {
        await using var worker = await WorkerHarness.StartAsync();
        worker.Script.HoldBeforeStep = 2;

        await worker.SendAsync(WorkerHarness.Run("run-1"));
        await worker.ConsumedAsync<StartStageRun>("run-1");
        await worker.WaitAsync(worker.Script.Gate("run-1").Reached.Task);

        Assert.Empty(worker.PublishedSoFar<StageRunCompleted>());
        Assert.Equal(["run-1"], worker.Agent.ActiveRunIds);
        Assert.False(worker.Script.Gate("run-1").Exited.Task.IsCompleted);

        worker.Script.Gate("run-1").Release.SetResult();
        await worker.PublishedAsync<StageRunCompleted>(message => message.RunId == "run-1");
    }

    [Fact]
    public async Task A_repeated_start_for_a_running_or_finished_run_is_ignored()
    {
        await using var worker = await WorkerHarness.StartAsync();
        worker.Script.HoldBeforeStep = 1;

        await worker.SendAsync(WorkerHarness.Run("run-1"));
        await worker.WaitAsync(worker.Script.Gate("run-1").Reached.Task);
        await worker.SendAsync(WorkerHarness.Run("run-1"));
        await worker.ConsumedAsync<StartStageRun>("run-1", count: 2);
        worker.Script.Gate("run-1").Release.SetResult();
        await worker.PublishedAsync<StageRunCompleted>(message => message.RunId == "run-1");
        await worker.RunEndedAsync("run-1");

        Assert.Equal(RunAcceptance.Duplicate, await worker.Agent.AcceptAsync(WorkerHarness.Run("run-1")));
        await worker.SendAsync(WorkerHarness.Run("run-1"));
        await worker.ConsumedAsync<StartStageRun>("run-1", count: 3);

        Assert.Equal(["run-1"], worker.Script.Entered);
        Assert.Single(worker.PublishedSoFar<StageRunStarted>());
        Assert.Single(worker.PublishedSoFar<StageRunCompleted>());
        Assert.Empty(worker.Agent.ActiveRunIds);
    }

    [Fact]
    public async Task Runs_beyond_the_free_slots_wait_in_order_and_never_exceed_the_slots()
    {
        await using var worker = await WorkerHarness.StartAsync(slots: 2);
        worker.Script.HoldBeforeStep = 1;

        foreach (var runId in new[] { "run-a", "run-b", "run-c" })
        {
            await worker.SendAsync(WorkerHarness.Run(runId));
        }

        await worker.WaitAsync(worker.Script.Gate("run-a").Reached.Task);
        await worker.WaitAsync(worker.Script.Gate("run-b").Reached.Task);
        await worker.ConsumedAsync<StartStageRun>("run-c");

        Assert.Equal(["run-a", "run-b", "run-c"], worker.Agent.ActiveRunIds);
        Assert.Equal(["run-a", "run-b"], worker.Script.Entered.Order());
        Assert.Equal(["run-a", "run-b"], worker.PublishedSoFar<StageRunStarted>().Select(started => started.RunId).Order());

        worker.Script.Gate("run-b").Release.SetResult();
        await worker.WaitAsync(worker.Script.Gate("run-c").Reached.Task);
        worker.Script.Gate("run-a").Release.SetResult();
        worker.Script.Gate("run-c").Release.SetResult();
        foreach (var runId in new[] { "run-a", "run-b", "run-c" })
        {
            await worker.PublishedAsync<StageRunCompleted>(message => message.RunId == runId);
        }

        Assert.Equal(2, worker.Script.MostConcurrent);
        Assert.Equal("run-c", worker.Script.Entered[2]);
    }

    [Fact]
    public async Task A_run_resumes_from_the_checkpoint_it_is_given()
    {
        await using var worker = await WorkerHarness.StartAsync();
        var state = Directory.CreateTempSubdirectory("resume-");
        await File.WriteAllTextAsync(Path.Combine(state.FullName, CheckpointingRunner.StepFile), "2");
        var resumeFrom = await worker.Store.CommitAsync(
            new ArtifactDraft
            {
                Type = "checkpoint.dataset.synthetic",
                ExperimentId = "exp-1",
                StageId = "data",
                RunId = "run-0",
                Name = "checkpoint-step-000002",
                OptionsHash = "",
                Step = 2,
            },
            state.FullName);
        state.Delete(recursive: true);

        await worker.SendAsync(WorkerHarness.Run("run-1", resumeFrom: resumeFrom));
        var completed = await worker.PublishedAsync<StageRunCompleted>(message => message.RunId == "run-1");

        Assert.Equal([3L], worker.PublishedSoFar<StageRunProgressed>().Select(progress => progress.Step));
        Assert.Equal(3.0, completed.Metrics["steps"]);
        var output = await worker.Store.FetchAsync(completed.Outputs["web"]);
        Assert.Contains(resumeFrom, output.Manifest.Draft.Parents);
    }

    [Fact]
    public async Task A_run_given_a_corrupt_checkpoint_resumes_from_the_previous_good_one()
    {
        await using var worker = await WorkerHarness.StartAsync();
        worker.Script.TotalSteps = 6;
        var step2 = await CommitCheckpointAsync(worker, "run-0", 2);
        var step4 = await CommitCheckpointAsync(worker, "run-0", 4);
        var stepFile = worker.Store.FileOf(step4, CheckpointingRunner.StepFile);
        await File.WriteAllTextAsync(stepFile, "5");

        await worker.SendAsync(WorkerHarness.Run("run-1", resumeFrom: step4));
        var completed = await worker.PublishedAsync<StageRunCompleted>(message => message.RunId == "run-1");

        // Resumed after step 2, not after the corrupt step 4 and not from scratch.
        Assert.Equal([3L, 4L, 5L, 6L], worker.PublishedSoFar<StageRunProgressed>().Select(progress => progress.Step));
        var output = await worker.Store.FetchAsync(completed.Outputs["web"]);
        Assert.Contains(step2, output.Manifest.Draft.Parents);
        Assert.DoesNotContain(step4, output.Manifest.Draft.Parents);
        var resolverLines = worker.Logs.Lines.Where(line => line.Category == typeof(CheckpointResolver).FullName).Select(line => line.Message).ToList();
        Assert.Equal(
            [
                $"Checkpoint {step4.Uri} (step 4) cannot be resumed from: artifact {step4.Uri} is corrupt: file '{CheckpointingRunner.StepFile}' does not match its SHA-256",
                $"Resuming from the older checkpoint {step2.Uri} (step 2) instead of {step4.Uri} (step 4)",
            ],
            resolverLines);
    }

    [Fact]
    public async Task A_run_whose_checkpoints_are_all_corrupt_starts_fresh_and_reports_no_checkpoint_it_did_not_use()
    {
        await using var worker = await WorkerHarness.StartAsync();
        worker.Script.TotalSteps = 3;
        worker.Script.Failure = (1, new RetryableStageException("device lost"));
        var step2 = await CommitCheckpointAsync(worker, "run-0", 2);
        await File.WriteAllTextAsync(worker.Store.FileOf(step2, CheckpointingRunner.StepFile), "3");

        await worker.SendAsync(WorkerHarness.Run("run-1", resumeFrom: step2));
        var failed = await worker.PublishedAsync<StageRunFailed>(message => message.RunId == "run-1");

        Assert.True(failed.Retryable);
        Assert.Null(failed.LastCheckpoint);
    }

    private static async Task<ArtifactReference> CommitCheckpointAsync(WorkerHarness worker, string runId, long step)
    {
        var state = Directory.CreateTempSubdirectory("checkpoint-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(state.FullName, CheckpointingRunner.StepFile), $"{step}");
            return await worker.Store.CommitAsync(
                new ArtifactDraft
                {
                    Type = "checkpoint.dataset.synthetic",
                    ExperimentId = "exp-1",
                    StageId = "data",
                    RunId = runId,
                    Name = $"checkpoint-step-{step:D6}",
                    OptionsHash = "",
                    Step = step,
                },
                state.FullName);
        }
        finally
        {
            state.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Every_log_line_of_a_run_carries_its_experiment_stage_and_run_ids()
    {
        await using var worker = await WorkerHarness.StartAsync();

        await worker.SendAsync(WorkerHarness.Run("run-1"));
        await worker.PublishedAsync<StageRunCompleted>(message => message.RunId == "run-1");
        await worker.RunEndedAsync("run-1");

        var checkpoint = Assert.Single(worker.PublishedSoFar<CheckpointSaved>()).Checkpoint;
        var runnerLines = worker.Logs.Lines.Where(line => line.Category == typeof(CheckpointingRunner).FullName).ToList();
        Assert.Equal(
            ["Step 1 done", "Step 2 done", $"Checkpoint at step 2 saved as {checkpoint.Uri}", "Step 3 done"],
            runnerLines.Select(line => line.Message));
        var agentLines = worker.Logs.Lines
            .Where(line => (line.Category == typeof(WorkerAgent).FullName || line.Category == typeof(RunExecutor).FullName) && line.Message.StartsWith("Run ", StringComparison.Ordinal))
            .ToList();
        Assert.Equal(2, agentLines.Count);
        Assert.All(runnerLines.Concat(agentLines), line =>
        {
            Assert.Equal("exp-1", line.Scope["ExperimentId"]);
            Assert.Equal("data", line.Scope["StageId"]);
            Assert.Equal("run-1", line.Scope["RunId"]);
        });
    }
}
