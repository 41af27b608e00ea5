using MassTransit;
using Orchestrator.Contracts.Messages;
using Orchestrator.Grains.Artifacts;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Bench;

/// <summary>In memory: the simulated workers report straight to the stage grains.</summary>
internal sealed class GrainInstantReports(IGrainFactory grains) : IInstantReports
{
    public async Task StartedAsync(InstantRun run)
    {
        StorageRequestRecorder.Mark(StorageRequestRecorder.Started);
        await Stage(run).ReportStartedAsync(new RunStartedReport(run.RunId, run.WorkerId));
    }

    public async Task ProgressAsync(InstantRun run, long step, long totalSteps)
    {
        StorageRequestRecorder.Mark(StorageRequestRecorder.Progress);
        await Stage(run).ReportProgressAsync(new RunProgressReport
        {
            RunId = run.RunId,
            Step = step,
            TotalSteps = totalSteps,
            SamplesPerSecond = 100,
            Metrics = new() { ["loss"] = 1.0 / step },
        });
    }

    public async Task CheckpointAsync(InstantRun run, long step)
    {
        StorageRequestRecorder.Mark(StorageRequestRecorder.Checkpoint);
        await Stage(run).ReportCheckpointAsync(new RunCheckpointReport(run.RunId, InstantRun.Checkpoint(run, step)));
    }

    public async Task CompletedAsync(InstantRun run)
    {
        StorageRequestRecorder.Mark(StorageRequestRecorder.Completed);
        await Stage(run).ReportCompletedAsync(new RunCompletedReport
        {
            RunId = run.RunId,
            Outputs = run.Outputs().ToDictionary(output => output.Name, output => new ArtifactRef { Uri = output.Uri, Type = output.Type, RunId = run.RunId }),
        });
    }

    private IStageGrain Stage(InstantRun run) => grains.GetGrain<IStageGrain>(StageKey.Of(run.ExperimentId, run.StageId));
}

/// <summary>Over a broker: the simulated workers publish their reports like a real worker's, so every report crosses it.</summary>
internal sealed class BusInstantReports(IBus bus) : IInstantReports
{
    public Task StartedAsync(InstantRun run) =>
        bus.Publish(new StageRunStarted { RunId = run.RunId, ExperimentId = run.ExperimentId, StageId = run.StageId, WorkerId = run.WorkerId, Rank = run.Rank });

    public Task ProgressAsync(InstantRun run, long step, long totalSteps) =>
        bus.Publish(new StageRunProgressed { RunId = run.RunId, ExperimentId = run.ExperimentId, StageId = run.StageId, Step = step, TotalSteps = totalSteps });

    public Task CheckpointAsync(InstantRun run, long step) =>
        bus.Publish(new CheckpointSaved
        {
            RunId = run.RunId,
            ExperimentId = run.ExperimentId,
            StageId = run.StageId,
            Step = step,
            Sha256 = new string('0', 64),
            Checkpoint = new ArtifactReference { Uri = $"bench://{run.RunId}/checkpoint-{step}", Type = "checkpoint", Step = step },
        });

    public Task CompletedAsync(InstantRun run) =>
        bus.Publish(new StageRunCompleted
        {
            RunId = run.RunId,
            ExperimentId = run.ExperimentId,
            StageId = run.StageId,
            Outputs = run.Outputs().ToDictionary(output => output.Name, output => new ArtifactReference { Uri = output.Uri, Type = output.Type }),
        });
}
