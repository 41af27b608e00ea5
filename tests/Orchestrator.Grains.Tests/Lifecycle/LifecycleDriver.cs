using Orchestrator.Contracts.Catalog;
using Orchestrator.Grains.Artifacts;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Scheduling;
using Orchestrator.Grains.Specs;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Tests.Lifecycle;

/// <summary>Plays the user and the workers against the cluster for one test, with a label of its own.</summary>
public sealed class LifecycleDriver(ClusterFixture fixture)
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(15);

    public string Label { get; } = Guid.NewGuid().ToString("N")[..12];

    public RecordingDispatcher Dispatcher => ClusterFixture.Dispatcher;

    public ISchedulerGrain Scheduler => fixture.Grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key);

    /// <summary>Registers a worker (or beats for it) that runs every kind of the catalog, or only <paramref name="kinds"/>.</summary>
    public Task RegisterWorkerAsync(string workerId, int slots = 1, string[]? kinds = null, params string[] activeRunIds) =>
        Scheduler.HeartbeatAsync(
            WorkerId(workerId),
            new WorkerCapacity { Slots = slots, Device = "cpu", Labels = new() { ["test"] = Label }, StageKinds = [.. kinds ?? StageKindCatalog.All.Select(kind => kind.Name)], CollectiveBackends = ["gloo"] },
            [.. activeRunIds]);

    public string WorkerId(string name) => $"{name}-{Label}";

    /// <summary>
    /// Submits the stages (one-line YAML flow mappings without resources); every stage asks for this test's
    /// label, plus <paramref name="resources"/> inside its resources and <paramref name="stageFields"/> beside them.
    /// </summary>
    public async Task<string> SubmitAsync(string stagesYaml, string resources = "", string stageFields = "")
    {
        var id = $"exp-{Label}";
        Assert.Equal(CreateOutcome.Created, (await Experiment(id).CreateAsync(Draft(stagesYaml, resources, stageFields))).Outcome);
        return id;
    }

    /// <summary>The experiment <c>exp-{Label}</c> of these stages, each asking for this test's workers.</summary>
    public ExperimentDraft Draft(string stagesYaml, string resources = "", string stageFields = "")
    {
        var labelled = string.Join('\n', stagesYaml.Trim().Split('\n').Select(line =>
            line.TrimStart().StartsWith("- ", StringComparison.Ordinal)
                ? line[..line.LastIndexOf('}')] + $", resources: {{ labels: {{ test: \"{Label}\" }}{resources} }}{stageFields} }}"
                : line));
        var prepared = ExperimentDrafts.Prepare($"name: lifecycle\nstages:\n{labelled}", SpecFormat.Yaml, $"exp-{Label}");
        Assert.Empty(prepared.Errors);
        return prepared.Draft!;
    }

    public IExperimentGrain Experiment(string id) => fixture.Grains.GetGrain<IExperimentGrain>(id);

    public IStageGrain Stage(string experimentId, string stageId) => fixture.Grains.GetGrain<IStageGrain>(StageKey.Of(experimentId, stageId));

    public IStageGrain Stage(RunAssignment assignment) => Stage(assignment.Run.ExperimentId, assignment.Run.StageId);

    /// <summary>Reports the run started (unless it was) and completed with one artifact per output the kind declares.</summary>
    public async Task<Dictionary<string, ArtifactRef>> CompleteAsync(RunAssignment assignment)
    {
        var stage = Stage(assignment);
        Assert.NotEqual(ReportOutcome.Stale, await stage.ReportStartedAsync(new RunStartedReport(assignment.Run.RunId, assignment.WorkerIds[0])));
        var outputs = StageKindCatalog.Find(assignment.Run.Kind)!.Outputs.ToDictionary(
            output => output.Name,
            output => new ArtifactRef { Uri = $"mem://{assignment.Run.RunId}/{output.Name}", Type = output.Type.Name, RunId = assignment.Run.RunId });
        Assert.Equal(ReportOutcome.Applied, await stage.ReportCompletedAsync(new RunCompletedReport { RunId = assignment.Run.RunId, Outputs = outputs }));
        return outputs;
    }

    public Task<ReportOutcome> FailAsync(RunAssignment assignment, bool retryable, ArtifactRef? checkpoint = null) =>
        Stage(assignment).ReportFailedAsync(new RunFailedReport { RunId = assignment.Run.RunId, Error = "boom", Retryable = retryable, LastCheckpoint = checkpoint });

    public static ArtifactRef Checkpoint(RunAssignment assignment, long step) =>
        new() { Uri = $"mem://{assignment.Run.RunId}/checkpoint-{step}", Type = "checkpoint.blip", Step = step, RunId = assignment.Run.RunId };

    /// <summary>Fires the stage's retry reminder, as the reminder service would.</summary>
    public Task TickRetryAsync(string experimentId, string stageId) =>
        Stage(experimentId, stageId).ReceiveReminder(StageGrain.RetryReminder, default);

    /// <summary>Waits, bounded, for a state the grains reach through one-way notifications.</summary>
    public async Task<ExperimentView> WaitForAsync(string experimentId, Func<ExperimentView, bool> condition)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (true)
        {
            var view = (await Experiment(experimentId).GetAsync())!;
            if (condition(view))
            {
                return view;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Experiment {experimentId} did not reach the expected state; it is {view.Status} with " +
                string.Join(", ", view.Stages.Select(stage => $"{stage.Id}={stage.Status}")));
            await Task.Delay(10);
        }
    }

    public static StageView StageOf(ExperimentView view, string stageId) => view.Stages.Single(stage => stage.Id == stageId);
}
