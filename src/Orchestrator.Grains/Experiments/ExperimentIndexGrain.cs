using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace Orchestrator.Grains.Experiments;

/// <summary>
/// Keeps one summary per experiment. Its state holds every summary, so a write costs as much as there are experiments:
/// upserts are therefore written together. An upsert changes the state at once (lists see it) and makes sure a write
/// follows; upserts that arrive before that write starts, or while it runs, share it or the next one. The grain is
/// reentrant so that they can arrive while a write is under way; every method runs to its first await without
/// interleaving, so the state is never read half-changed.
/// </summary>
[Reentrant]
public sealed class ExperimentIndexGrain(
    [PersistentState("experiment-index", OrchestratorStorage.Name)] IPersistentState<ExperimentIndexState> state,
    ILogger<ExperimentIndexGrain> logger) : Grain, IExperimentIndexGrain
{
    public const long Key = 0;

    private Task? _writing;
    private bool _unwritten;

    /// <summary>A write was refused because storage holds another version (a try that timed out was applied after all).</summary>
    private bool _stale;

    public Task UpsertAsync(ExperimentSummary summary)
    {
        if (state.State.Experiments.TryGetValue(summary.Id, out var known) && known == summary)
        {
            return Task.CompletedTask;
        }

        state.State.Experiments[summary.Id] = summary;
        _unwritten = true;
        _writing ??= WriteWhileChangedAsync();
        return Task.CompletedTask;
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

    /// <summary>
    /// Writes until no change is left unwritten. It first yields, so that upserts already waiting in the grain's queue
    /// join the first write. A failed write is logged and left for the next upsert to retry, with everything.
    /// </summary>
    private async Task WriteWhileChangedAsync()
    {
        try
        {
            await Task.Yield();
            if (_stale)
            {
                await ReloadKeepingSummariesAsync();
            }

            while (_unwritten)
            {
                _unwritten = false;
                await state.WriteStateAsync();
            }
        }
        catch (Exception exception)
        {
            _unwritten = true;
            _stale |= exception is InconsistentStateException;
            logger.LogError(exception, "The experiment index could not be written; the next change writes it again");
        }
        finally
        {
            _writing = null;
        }
    }

    /// <summary>
    /// Storage refused a write because it holds a newer version than this grain read: one of this grain's own writes
    /// that timed out during a storage outage and was applied afterwards. Its ETag is read, and every summary this grain
    /// holds is kept over what storage has (the grain is the index's only writer, so it holds the latest of each).
    /// </summary>
    private async Task ReloadKeepingSummariesAsync()
    {
        var held = state.State.Experiments;
        await state.ReadStateAsync();
        foreach (var (id, summary) in held)
        {
            state.State.Experiments[id] = summary;
        }

        _stale = false;
        _unwritten = true;
    }
}

/// <summary>Every experiment's latest summary, by id.</summary>
[GenerateSerializer, Alias("ExperimentIndexState")]
public sealed class ExperimentIndexState
{
    [Id(0)] public Dictionary<string, ExperimentSummary> Experiments { get; set; } = [];
}
