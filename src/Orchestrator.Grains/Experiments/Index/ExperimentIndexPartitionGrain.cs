using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace Orchestrator.Grains.Experiments.Index;

/// <summary>
/// One partition of the experiment index: the summaries of the experiments created in one minute. A change of one
/// experiment writes this partition and nothing else (its day's directory learns the new counts in memory); the first
/// summary of a partition also adds it to its day's directory, once. Upserts are written together: an upsert changes the
/// state at once (lists see it) and completes once a write that holds it is stored; upserts that arrive before that write
/// starts, or while it runs, share it or the next one. The grain is reentrant so that they can arrive while a write is
/// under way; every method runs to its first await without interleaving, so the state is never read half-changed. A
/// failed write fails the upserts it held and is tried again after <see cref="RetryDelay"/>.
/// </summary>
[Reentrant]
public sealed class ExperimentIndexPartitionGrain(
    [PersistentState(ExperimentIndexPartitionGrain.StateName, OrchestratorStorage.Name)] IPersistentState<ExperimentIndexPartitionState> state,
    ILogger<ExperimentIndexPartitionGrain> logger) : Grain, IExperimentIndexPartitionGrain
{
    public const string StateName = "experiment-index-partition";

    /// <summary>How long after a failed write the grain writes again, if no upsert has made it write before.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    /// <summary>The longest pause between two writes (<see cref="Pause"/>).</summary>
    public static readonly TimeSpan LongestPause = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How long the grain waits, after a write that took <paramref name="write"/>, before the next one when upserts arrived
    /// meanwhile: as long as the write took, at most <see cref="LongestPause"/>. A write serializes the whole partition (a
    /// minute of creations: 18,000 summaries in a burst of 300 a second), so writing back to back kept a core busy
    /// serializing during a burst; pausing as long halves that, and the upserts of the pause share the next write. An
    /// upsert that finds no write under way is written at once, so a lone creation waits for no pause.
    /// </summary>
    public static TimeSpan Pause(TimeSpan write) => write < LongestPause ? write : LongestPause;

    /// <summary>Ids oldest first (creation time ascending, then id descending), so newest first is a walk from the end.</summary>
    private readonly List<ExperimentSummary> _order = [];
    private readonly PartitionCounts _counts = new();

    private Task? _writing;
    private bool _unwritten;
    private bool _listed;

    /// <summary>Completes when the next write, which will hold every change not yet written, is stored.</summary>
    private TaskCompletionSource? _next;

    private IGrainTimer? _retry;

    /// <summary>A write was refused because storage holds another version (a try that timed out was applied after all).</summary>
    private bool _stale;

    private long Partition => this.GetPrimaryKeyLong();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var summary in state.State.Experiments.Values)
        {
            Insert(summary);
            _counts.Add(summary, +1);
        }

        _listed = state.State.Experiments.Count > 0;
        return Task.CompletedTask;
    }

    public Task UpsertAsync(ExperimentSummary summary)
    {
        if (ExperimentIndexBuckets.Of(summary.CreatedAt) != Partition)
        {
            throw new ArgumentException($"Experiment {summary.Id} was created at {summary.CreatedAt:O}, not in partition {Partition}.", nameof(summary));
        }

        if (state.State.Experiments.TryGetValue(summary.Id, out var known))
        {
            if (known == summary)
            {
                return _next?.Task ?? Task.CompletedTask;
            }

            _counts.Add(known, -1);
            _order[Find(known)] = summary;
        }
        else
        {
            Insert(summary);
        }

        _counts.Add(summary, +1);
        state.State.Experiments[summary.Id] = summary;
        return WriteSoonAsync();
    }

    public Task ImportAsync(List<ExperimentSummary> summaries)
    {
        var added = false;
        foreach (var summary in summaries.Where(summary => ExperimentIndexBuckets.Of(summary.CreatedAt) == Partition && !state.State.Experiments.ContainsKey(summary.Id)))
        {
            // A summary of the first layout was read with no labels field: it has none.
            var imported = summary with { Labels = summary.Labels ?? [] };
            state.State.Experiments[imported.Id] = imported;
            Insert(imported);
            _counts.Add(imported, +1);
            added = true;
        }

        return added ? WriteSoonAsync() : _next?.Task ?? Task.CompletedTask;
    }

    public Task<PartitionPage> ListAsync(ExperimentQuery query, ExperimentListPosition? after, int skip, int take)
    {
        var items = new List<ExperimentSummary>();
        var before = 0;
        for (var index = _order.Count - 1; index >= 0 && items.Count < take; index--)
        {
            var summary = _order[index];
            if (!query.Matches(summary))
            {
                continue;
            }

            if (after is not null && !after.IsBefore(summary))
            {
                before++;
                continue;
            }

            if (skip > 0)
            {
                skip--;
                before++;
                continue;
            }

            items.Add(summary);
        }

        return Task.FromResult(new PartitionPage(items, before));
    }

    public Task<PartitionCounts> GetCountsAsync() => Task.FromResult(_counts.Copy());

    /// <summary>Where <paramref name="summary"/> goes in <see cref="_order"/> (or is): by creation time, then id descending.</summary>
    private int Find(ExperimentSummary summary)
    {
        var (low, high) = (0, _order.Count);
        while (low < high)
        {
            var middle = (low + high) / 2;
            var other = _order[middle];
            var comparison = other.CreatedAt != summary.CreatedAt
                ? other.CreatedAt.CompareTo(summary.CreatedAt)
                : string.CompareOrdinal(summary.Id, other.Id);
            if (comparison < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    private void Insert(ExperimentSummary summary) => _order.Insert(Find(summary), summary);

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
    /// Writes until no change is left unwritten, pausing between writes (<see cref="Pause"/>), and tells the day's
    /// directory the counts after each. It first yields, so that upserts already waiting in the grain's queue join the
    /// first write, and adds the partition to its day's directory before its first write, so a listing finds every
    /// summary stored. A failed write fails the upserts it held, is logged, and is tried again with everything, by the
    /// next upsert or after <see cref="RetryDelay"/>.
    /// </summary>
    private async Task WriteWhileChangedAsync()
    {
        TaskCompletionSource? writing = null;
        var day = GrainFactory.GetGrain<IExperimentIndexDayGrain>(ExperimentIndexBuckets.DayOf(Partition));
        try
        {
            await Task.Yield();
            if (!_listed)
            {
                await day.AddPartitionsAsync([Partition]);
                _listed = true;
            }

            if (_stale)
            {
                await ReloadKeepingSummariesAsync();
            }

            while (_unwritten)
            {
                _unwritten = false;
                writing = _next;
                _next = null;
                var started = Stopwatch.GetTimestamp();
                await state.WriteStateAsync();
                await day.ReportCountsAsync(Partition, _counts.Copy());
                writing?.TrySetResult();
                writing = null;
                if (_unwritten)
                {
                    await Task.Delay(Pause(Stopwatch.GetElapsedTime(started)));
                }
            }
        }
        catch (Exception exception)
        {
            _unwritten = true;
            _stale |= exception is InconsistentStateException;
            writing?.TrySetException(exception);
            logger.LogError(exception, "Partition {Partition} of the experiment index could not be written; it is written again within {Delay}", Partition, RetryDelay);
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
    /// holds is kept over what storage has (the grain is the partition's only writer, so it holds the latest of each).
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

/// <summary>The latest summary of every experiment created in one minute, by id.</summary>
[GenerateSerializer, Alias("ExperimentIndexPartitionState")]
public sealed class ExperimentIndexPartitionState
{
    [Id(0)] public Dictionary<string, ExperimentSummary> Experiments { get; set; } = [];
}
