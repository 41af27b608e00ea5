using Microsoft.Extensions.Logging;

namespace Orchestrator.Grains.Experiments.Index;

/// <summary>
/// The days that hold experiments (a day is added once, by its first partition; about 365 a year), and whether the
/// index of the first layout has been moved into the partitions. Until it has, each activation asks the grain of the first
/// layout to move it, and asks again every <see cref="MoveRetry"/> while that fails.
/// </summary>
public sealed class ExperimentIndexDirectoryGrain(
    [PersistentState(ExperimentIndexDirectoryGrain.StateName, OrchestratorStorage.Name)] IPersistentState<ExperimentIndexDirectoryState> state,
    ILogger<ExperimentIndexDirectoryGrain> logger) : Grain, IExperimentIndexDirectoryGrain
{
    public const long Key = 0;
    public const string StateName = "experiment-index-directory";

    /// <summary>How long after a failed move of the first layout's index it is asked for again.</summary>
    public static readonly TimeSpan MoveRetry = TimeSpan.FromSeconds(5);

    private Task? _moving;
    private IGrainTimer? _moveTimer;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!state.State.LegacyMoved)
        {
            // Not awaited: the move adds partitions and days, which calls this grain.
            _moveTimer = this.RegisterGrainTimer(MoveLegacyAsync, new GrainTimerCreationOptions(TimeSpan.Zero, MoveRetry) { Interleave = true });
        }

        return Task.CompletedTask;
    }

    public async Task AddDayAsync(long day)
    {
        var days = state.State.Days;
        var at = days.BinarySearch(day);
        if (at >= 0)
        {
            return;
        }

        days.Insert(~at, day);
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            days.Remove(day);
            throw;
        }
    }

    public Task<List<long>> GetDaysAsync() => Task.FromResult(Enumerable.Reverse(state.State.Days).ToList());

    public async Task<bool> IsCompleteAsync()
    {
        if (!state.State.LegacyMoved)
        {
            await MoveLegacyAsync();
            await _moving!;
        }

        return state.State.LegacyMoved;
    }

    public async Task LegacyMovedAsync()
    {
        if (state.State.LegacyMoved)
        {
            return;
        }

        state.State.LegacyMoved = true;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.LegacyMoved = false;
            throw;
        }

        _moveTimer?.Dispose();
        _moveTimer = null;
    }

    private Task MoveLegacyAsync()
    {
        if (!state.State.LegacyMoved && _moving is not { IsCompleted: false })
        {
            _moving = MoveAsync();
        }

        return Task.CompletedTask;

        async Task MoveAsync()
        {
            try
            {
                await GrainFactory.GetGrain<ILegacyExperimentIndexGrain>(LegacyExperimentIndexGrain.Key).MoveToPartitionsAsync();
            }
            catch (Exception exception)
            {
                logger.LogError(exception, "The experiment index of the first layout could not be moved into partitions; trying again within {Delay}", MoveRetry);
            }
        }
    }
}

/// <summary>The days that hold experiments, oldest first, and whether the index of the first layout has been moved.</summary>
[GenerateSerializer, Alias("ExperimentIndexDirectoryState")]
public sealed class ExperimentIndexDirectoryState
{
    [Id(0)] public List<long> Days { get; set; } = [];

    [Id(1)] public bool LegacyMoved { get; set; }
}
