using Microsoft.Extensions.Logging;

namespace Orchestrator.Grains.Experiments.Index;

/// <summary>
/// The experiment index as the first layout wrote it: one state holding every summary, which every write rewrote whole.
/// Its grain type and state name are those of the first layout, so it reads what that wrote; it moves it into the
/// partitions (<see cref="MovesAtOnce"/> partitions at a time) and then clears it. docs/decisions/experiment-index.md.
/// </summary>
[GrainType("experimentindex")]
public sealed class LegacyExperimentIndexGrain(
    [PersistentState(LegacyExperimentIndexGrain.StateName, OrchestratorStorage.Name)] IPersistentState<ExperimentIndexState> state,
    ILogger<LegacyExperimentIndexGrain> logger) : Grain, ILegacyExperimentIndexGrain
{
    public const long Key = 0;
    public const string StateName = "experiment-index";

    /// <summary>Partitions written at once while moving.</summary>
    public const int MovesAtOnce = 16;

    public async Task MoveToPartitionsAsync()
    {
        var summaries = state.State.Experiments.Values;
        if (summaries.Count > 0)
        {
            var partitions = summaries.GroupBy(summary => ExperimentIndexBuckets.Of(summary.CreatedAt)).ToList();
            logger.LogInformation("Moving {Experiments} summaries of the experiment index's first layout into {Partitions} partitions", summaries.Count, partitions.Count);
            // Each day's partitions are listed in one write, before the partitions are written (each would list itself).
            await Task.WhenAll(partitions.Select(partition => partition.Key).GroupBy(ExperimentIndexBuckets.DayOf)
                .Select(day => GrainFactory.GetGrain<IExperimentIndexDayGrain>(day.Key).AddPartitionsAsync([.. day])));
            foreach (var chunk in partitions.Chunk(MovesAtOnce))
            {
                await Task.WhenAll(chunk.Select(partition => GrainFactory.GetGrain<IExperimentIndexPartitionGrain>(partition.Key).ImportAsync([.. partition])));
            }
        }

        if (state.RecordExists)
        {
            await state.ClearStateAsync();
        }

        await GrainFactory.GetGrain<IExperimentIndexDirectoryGrain>(ExperimentIndexDirectoryGrain.Key).LegacyMovedAsync();
    }
}

/// <summary>Every experiment's latest summary, by id: the experiment index of the first layout.</summary>
[GenerateSerializer, Alias("ExperimentIndexState")]
public sealed class ExperimentIndexState
{
    [Id(0)] public Dictionary<string, ExperimentSummary> Experiments { get; set; } = [];
}
