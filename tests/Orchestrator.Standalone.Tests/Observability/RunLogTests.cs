using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Telemetry;

namespace Orchestrator.Standalone.Tests.Observability;

/// <summary>Every log line about a run carries the run's experiment, stage and run ids, on the orchestrator and on the worker.</summary>
public sealed class RunLogTests
{
    /// <summary>
    /// One stage that succeeds, and one whose annotation file is missing: it fails for good. The missing folder is under
    /// the user's home, one of the standalone worker's default import roots, so the submission is accepted.
    /// </summary>
    private static readonly string Dag = $$"""
        name: logs-test
        stages:
          - id: data
            kind: dataset.synthetic
            config: { images: 100, human_images: 10, test_images: 10, image_size: 16, seed: 1 }
          - id: broken
            kind: dataset.import
            config: { annotations: {{Missing}}/annotations.json, image_root: {{Missing}} }
        """;

    private static string Missing => Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), "nonexistent-import-for-run-log-tests");

    /// <summary>Lines of the project's own code that are about the worker or the scheduler as a whole, never about one run.</summary>
    private static readonly string[] NotAboutARun =
    [
        "Worker {WorkerId} registered: {Slots} slots, {Device}",
        "Worker {WorkerId} draining {Runs} runs; each has {DrainTimeout} to save a checkpoint and stop",
        "libtorch uses {Threads} threads per operation (Worker:TorchThreads)",
        "Worker {WorkerId} deregistered",
        // An in-process worker leaves with the silo; whether its departure finds the scheduler still there is a race.
        "Worker {WorkerId} left while this silo stops; its departure was dropped ({Error})",

        // The scheduler activates lazily, so on a loaded machine it may do so after the experiment was submitted.
        "Scheduler activated: running experiments announce their runs, {Window} at a time ({Listed} listed so far); until they have, runs go only to workers with none unannounced",
        "Scheduler recovered its runs from the stages {Seconds:0.###} s after its activation ({Why}); every worker takes runs again",
        "{Unanswered} running experiments did not announce their runs in time, {Waiting} listed were not asked yet (more to list: {Listing}); assigning anyway",
        "Heartbeats cannot arrive ({Transport}); no worker is declared lost until they can",
        "Heartbeats can arrive again after {OutageSeconds:0.#} s; each worker has {GraceSeconds:0.#} s to be heard before it is declared lost",
    ];

    /// <summary>The messages about a run: MassTransit's SEND and RECEIVE lines that name one of them concern that run.</summary>
    private static readonly string[] RunMessages =
        ["StartStageRun", "CancelStageRun", "StageRunStarted", "StageRunProgressed", "CheckpointSaved", "StageRunCompleted", "StageRunFailed"];

    /// <summary>
    /// A line "concerns a run" when it was written, after the experiment was submitted, by the code that handles
    /// runs: the stage and scheduler grains, the orchestrator's transport (dispatcher, report consumers, fault
    /// logger) and anything in the worker (agent, runners, artifact store, training), at Debug or above, except
    /// the worker- and cluster-level lines listed in <see cref="NotAboutARun"/>; and MassTransit's message lines
    /// (SEND, RECEIVE, at Debug) about one of the <see cref="RunMessages"/>. The experiment grain's lines are
    /// about the whole experiment and must carry its id. Every line that concerns a run must carry the ids of one
    /// of the experiment's runs, consistently (stage and experiment of that run), and a line that names a run id in
    /// its text must carry that run's ids.
    /// </summary>
    [Fact]
    public async Task Every_line_about_a_run_carries_its_experiment_stage_and_run_ids()
    {
        var host = new StandaloneHost();
        var submitted = DateTimeOffset.UtcNow;
        string id;
        JsonNode view;
        try
        {
            id = await host.SubmitAsync(Dag);
            await host.ReadEventsAsync(id, TimeSpan.FromMinutes(2));
            view = await host.GetAsync(id);
            Assert.Equal("Failed", view["status"]!.GetValue<string>());
        }
        finally
        {
            // Stopping the host drains the worker and the bus, so every line about the runs is written by now.
            host.Dispose();
        }

        var lines = host.Logs.Lines;

        var runs = view["stages"]!.AsArray()
            .SelectMany(stage => stage!["attempts"]!.AsArray().Select(attempt => (Stage: stage["id"]!.GetValue<string>(), Run: attempt!["runId"]!.GetValue<string>())))
            .ToDictionary(run => run.Run, run => run.Stage);
        Assert.Equal(2, runs.Count);

        var during = lines.Where(line => line.At >= submitted).ToList();
        var experimentLines = during.Where(line => line.Category == "Orchestrator.Grains.Experiments.ExperimentGrain").ToList();
        Assert.NotEmpty(experimentLines);
        Assert.All(experimentLines, line => Assert.Equal(id, line.Get(RunTelemetry.ExperimentId)));

        var aboutRuns = during.Where(ConcernsARun).ToList();
        Assert.All(aboutRuns, line =>
        {
            var runId = line.Get(RunTelemetry.RunId);
            Assert.True(runId is not null && runs.ContainsKey(runId), $"no run ids on [{line.Category}] {line.Message}");
            Assert.Equal(id, line.Get(RunTelemetry.ExperimentId));
            Assert.Equal(runs[runId], line.Get(RunTelemetry.StageId));
            foreach (var named in runs.Keys.Where(run => line.Message.Contains(run, StringComparison.Ordinal)))
            {
                Assert.Equal(named, runId);
            }
        });

        // Both planes wrote about every run: the orchestrator dispatched and followed it, the worker ran it.
        foreach (var run in runs.Keys)
        {
            var ofRun = aboutRuns.Where(line => line.Get(RunTelemetry.RunId) == run).ToList();
            Assert.Contains(ofRun, line => line.Category == "Orchestrator.Grains.Scheduling.SchedulerGrain");
            Assert.Contains(ofRun, line => line.Category == "Orchestrator.Grains.Stages.StageGrain");
            Assert.Contains(ofRun, line => line.Category == "Trainer.Worker.Agent.WorkerAgent");
            Assert.Contains(ofRun, line => line.Category == "Trainer.Worker.Agent.RunExecutor");
        }

        Assert.Contains(aboutRuns, line => line.Template.StartsWith("Stage {Stage} run {RunId} failed for good", StringComparison.Ordinal));
        Assert.Contains(aboutRuns, line => line.Category.StartsWith("Trainer.Worker.Runners.", StringComparison.Ordinal));
        Assert.Contains(aboutRuns, line => line.Category == "MassTransit.Messages" && line.Message.StartsWith("SEND ", StringComparison.Ordinal));
        Assert.Contains(aboutRuns, line => line.Category == "MassTransit.Messages" && line.Message.StartsWith("RECEIVE ", StringComparison.Ordinal));
    }

    private static bool ConcernsARun(CapturedLine line) =>
        line.Level >= LogLevel.Debug
        && !NotAboutARun.Contains(line.Template)
        && (line.Category.StartsWith("Orchestrator.Grains.Stages.", StringComparison.Ordinal)
            || line.Category.StartsWith("Orchestrator.Grains.Scheduling.", StringComparison.Ordinal)
            || line.Category.StartsWith("Orchestrator.Silo.Transport.", StringComparison.Ordinal)
            || line.Category.StartsWith("Trainer.Worker.", StringComparison.Ordinal)
            || (line.Category == "MassTransit.Messages" && RunMessages.Any(message => line.Message.Contains($"Orchestrator.Contracts.Messages.{message}", StringComparison.Ordinal))));
}
