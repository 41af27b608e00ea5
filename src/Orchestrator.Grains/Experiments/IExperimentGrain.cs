using Orchestrator.Grains.Events;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Experiments;

/// <summary>One experiment, keyed by its id: owns the DAG, advances it as stages finish, and answers for it.</summary>
[Alias("IExperimentGrain")]
public interface IExperimentGrain : IGrainWithStringKey
{
    /// <summary>Creates the experiment and queues the stages with no upstream. Repeating it with the same spec is harmless.</summary>
    [Alias("Create")]
    Task<CreateResult> CreateAsync(ExperimentDraft draft);

    /// <summary>The experiment with every stage, or null when no experiment has this id.</summary>
    [AlwaysInterleave, Alias("Get")]
    Task<ExperimentView?> GetAsync();

    /// <summary>Stops active runs (Cancelled) and skips stages that never ran (Skipped).</summary>
    [Alias("Cancel")]
    Task<ExperimentView?> CancelAsync();

    /// <summary>Re-runs Failed and Cancelled stages from their checkpoints, and the stages Skipped or waiting behind them.</summary>
    [Alias("Resume")]
    Task<ExperimentView?> ResumeAsync();

    /// <summary>Re-runs one stage from scratch, and everything downstream of it, reusing upstream outputs.</summary>
    [Alias("RerunStage")]
    Task<ExperimentView?> RerunStageAsync(string stageId);

    /// <summary>Every artifact produced, with its run and the inputs that run consumed.</summary>
    [AlwaysInterleave, Alias("GetLineage")]
    Task<LineageView?> GetLineageAsync();

    /// <summary>Re-reads every stage and has active ones announce their runs to the scheduler again (after a scheduler restart).</summary>
    [OneWay, Alias("CatchUp")]
    Task CatchUpAsync();

    /// <summary>A stage changed status; the experiment advances the DAG.</summary>
    [OneWay, Alias("OnStageChanged")]
    Task OnStageChangedAsync(StageChange change);

    /// <summary>
    /// A reader is following the experiment's live events: they are published for <paramref name="lease"/> from now
    /// (renewed by calling again). With no reader, nothing is published, and a change costs no stream traffic.
    /// </summary>
    [Alias("Watch")]
    Task WatchAsync(TimeSpan lease);

    /// <summary>A stage's run progressed; the experiment publishes the event unless the stage has moved on since.</summary>
    [OneWay, Alias("OnStageProgressed")]
    Task OnStageProgressedAsync(ExperimentEvent progress);
}
