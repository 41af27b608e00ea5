using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace Orchestrator.Grains.Experiments;

/// <summary>
/// Keeps one summary per experiment. Its state holds every summary, so a write costs as much as there are experiments:
/// upserts are therefore written together. An upsert changes the state at once (lists see it) and completes once a write
/// that holds it is stored, so no caller is acknowledged before its summary is durable; upserts that arrive before that
/// write starts, or while it runs, share it or the next one. The grain is reentrant so that they can arrive while a
/// write is under way; every method runs to its first await without interleaving, so the state is never read
/// half-changed. A failed write fails the upserts it held and is tried again after <see cref="RetryDelay"/>.
/// </summary>
[Reentrant]
public sealed class ExperimentIndexGrain(
    [PersistentState("experiment-index", OrchestratorStorage.Name)] IPersistentState<ExperimentIndexState> state,
    ILogger<ExperimentIndexGrain> logger) : Grain, IExperimentIndexGrain
{
    public const long Key = 0;

    /// <summary>How long after a failed write the grain writes again, if no upsert has made it write before.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    private Task? _writing;
    private bool _unwritten;

    /// <summary>Completes when the next write, which will hold every change not yet written, is stored.</summary>
    private TaskCompletionSource? _next;

    private IGrainTimer? _retry;

    /// <summary>A write was refused because storage holds another version (a try that timed out was applied after all).</summary>
    private bool _stale;

    public Task UpsertAsync(ExperimentSummary summary)
    {
        if (state.State.Experiments.TryGetValue(summary.Id, out var known) && known == summary)
        {
            return _next?.Task ?? Task.CompletedTask;
        }

        state.State.Experiments[summary.Id] = summary;
        return WriteSoonAsync();
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

    /// <summary>Marks the state changed and starts a write unless one is under way; completes when the change is stored.</summary>
    private Task WriteSoonAsync()
    {
        _unwritten = true;
        _next ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stored = _next.Task;
        _writing ??= WriteWhileChangedAsync();
        return stored;
    }

    /// <summary>
    /// Writes until no change is left unwritten. It first yields, so that upserts already waiting in the grain's queue
    /// join the first write. A failed write fails the upserts it held, is logged, and is tried again with everything,
    /// by the next upsert or after <see cref="RetryDelay"/>.
    /// </summary>
    private async Task WriteWhileChangedAsync()
    {
        TaskCompletionSource? writing = null;
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
                writing = _next;
                _next = null;
                await state.WriteStateAsync();
                writing?.TrySetResult();
                writing = null;
            }
        }
        catch (Exception exception)
        {
            _unwritten = true;
            _stale |= exception is InconsistentStateException;
            writing?.TrySetException(exception);
            logger.LogError(exception, "The experiment index could not be written; it is written again within {Delay}", RetryDelay);
            _retry?.Dispose();
            _retry = this.RegisterGrainTimer(RetryWriteAsync, new GrainTimerCreationOptions(RetryDelay, Timeout.InfiniteTimeSpan) { Interleave = true });
        }
        finally
        {
            _writing = null;
        }
    }

    private async Task RetryWriteAsync()
    {
        if (_unwritten && _writing is null)
        {
            try
            {
                await WriteSoonAsync();
            }
            catch (Exception)
            {
                // Logged by the write, which set the next try.
            }
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
