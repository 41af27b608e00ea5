namespace Orchestrator.Grains.Experiments;

/// <summary>Keeps one summary per experiment.</summary>
public sealed class ExperimentIndexGrain(
    [PersistentState("experiment-index", OrchestratorStorage.Name)] IPersistentState<ExperimentIndexState> state) : Grain, IExperimentIndexGrain
{
    public const long Key = 0;

    public async Task UpsertAsync(ExperimentSummary summary)
    {
        if (state.State.Experiments.TryGetValue(summary.Id, out var known) && known == summary)
        {
            return;
        }

        state.State.Experiments[summary.Id] = summary;
        await state.WriteStateAsync();
    }

    public Task<ExperimentPage> ListAsync(ExperimentStatus? status, int offset, int limit)
    {
        var matching = state.State.Experiments.Values
            .Where(summary => status is null || summary.Status == status)
            .OrderByDescending(summary => summary.CreatedAt)
            .ThenBy(summary => summary.Id, StringComparer.Ordinal)
            .ToList();
        return Task.FromResult(new ExperimentPage
        {
            Items = [.. matching.Skip(offset).Take(limit)],
            Total = matching.Count,
            Offset = offset,
            Limit = limit,
        });
    }

    public Task<Dictionary<ExperimentStatus, int>> CountByStatusAsync() =>
        Task.FromResult(state.State.Experiments.Values
            .GroupBy(summary => summary.Status)
            .ToDictionary(group => group.Key, group => group.Count()));
}

/// <summary>Every experiment's latest summary, by id.</summary>
[GenerateSerializer, Alias("ExperimentIndexState")]
public sealed class ExperimentIndexState
{
    [Id(0)] public Dictionary<string, ExperimentSummary> Experiments { get; set; } = [];
}
