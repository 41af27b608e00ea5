using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Experiments.Index;
using Orchestrator.Grains.Scheduling;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Grains.Experiments;

/// <summary>
/// How an experiment gets back in step: with its stages when the scheduler asks it to catch up (after the scheduler's
/// activation or a silo's departure), and with whatever a creation or a user's change left half-done, through a
/// reminder that exists only while such a change is carried through (docs/decisions/reminders-when-due.md).
/// </summary>
public sealed partial class ExperimentGrain
{
    internal const string ReconcileReminder = "reconcile";

    /// <summary>How long after a creation or a user's change began its reminder first fires, should the change not be carried through.</summary>
    private static readonly TimeSpan ReconcileAfter = TimeSpan.FromMinutes(1);

    /// <summary>The reconciliation reminder while a creation or a user's change is carried through; null when none is due.</summary>
    private IGrainReminder? _reminder;

    public async Task CatchUpAsync()
    {
        if (Experiment.Exists && Experiment.Status == ExperimentStatus.Running)
        {
            await ReconcileAsync();
        }

        await GrainFactory.GetGrain<ISchedulerGrain>(SchedulerGrain.Key).CaughtUpAsync(this.GetPrimaryKeyString());
    }

    /// <summary>
    /// A creation or a user's change did not finish (its call failed half-way, or its silo went down): reconciliation
    /// finishes it, and then nothing is due. Also what an experiment created by an earlier version, which reconciled every
    /// minute, does at its next tick.
    /// </summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ReconcileReminder)
        {
            return;
        }

        if (Experiment.Exists)
        {
            await ReconcileAsync();
            await ExperimentIndex.UpsertAsync(GrainFactory, Summary());
        }

        _reminder ??= await this.GetReminder(ReconcileReminder);
        await CarriedThroughAsync();
    }

    /// <summary>
    /// A creation or a user's change begins: until <see cref="CarriedThroughAsync"/>, a reminder stands ready to finish it
    /// should it fail half-way. It is registered once the experiment's first write is stored.
    /// </summary>
    private async Task CarryingThroughAsync()
    {
        try
        {
            _reminder = await this.RegisterOrUpdateReminder(ReconcileReminder, ReconcileAfter, ReconcileAfter);
        }
        catch (Exception exception) when (exception is not OrleansException)
        {
            // The reminder table is in the storage account: while it is away nothing is begun, and the caller hears that
            // the change could not be stored (a storage client's timeouts come as cancellations, which say nothing of it).
            throw new OrleansException($"Experiment {this.GetPrimaryKeyString()}: its reminder could not be stored", exception);
        }
    }

    /// <summary>Nothing is due: the reminder goes. Should that fail (storage away), it fires, reconciles and tries again.</summary>
    private async Task CarriedThroughAsync()
    {
        if (_reminder is not { } reminder)
        {
            return;
        }

        try
        {
            await this.UnregisterReminder(reminder);
            _reminder = null;
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Experiment {ExperimentId}: its reminder could not be unregistered; it will reconcile once and try again", this.GetPrimaryKeyString());
        }
    }

    /// <summary>
    /// Catches up with every stage's own state and has active stages announce their runs to the scheduler
    /// again (it keeps soft state), then advances.
    /// </summary>
    private async Task ReconcileAsync()
    {
        if (!_stagesInitialized)
        {
            await InitializeStagesAsync();
        }

        var changes = await Task.WhenAll(Experiment.Stages.Select(stage => Stage(stage.StageId).GetChangeAsync()));
        await LearnAsync(changes);

        await Task.WhenAll(changes.Where(change => change.Status.IsActive()).Select(change => Stage(change.StageId).EnsureScheduledAsync()));
        await AdvanceAsync();
    }
}
