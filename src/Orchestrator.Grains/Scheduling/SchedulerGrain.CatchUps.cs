using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Experiments;
using Orchestrator.Grains.Experiments.Index;

namespace Orchestrator.Grains.Scheduling;

/// <summary>
/// Catch-ups: after its activation, and when a silo has left the cluster, the scheduler asks every running experiment to
/// re-read its stages and have the active ones announce their runs again, a window at a time (<see cref="CatchUpQueue"/>),
/// the experiments listed from the index a page at a time as the window makes room.
/// </summary>
public sealed partial class SchedulerGrain
{
    /// <summary>Running experiments are listed for their catch-ups this many at a time, as the window makes room.</summary>
    public const int CatchUpPage = 1000;

    private static readonly ExperimentQuery RunningExperiments = new() { Status = ExperimentStatus.Running };

    /// <summary>Catch-ups to send and those sent and not yet answered: sent again when due.</summary>
    private readonly CatchUpQueue _catchUps = new(options.Value.CatchUpsInFlight, CatchUpWait(options.Value));

    /// <summary>Whether running experiments are still being listed for catch-ups, and after which one the listing goes on.</summary>
    private bool _listing;
    private ExperimentListPosition? _listedUpTo;

    /// <summary>Whether this activation's recovery asked any experiment to catch up (if none was running, it ends unlogged).</summary>
    private bool _askedWhileRecovering;

    /// <summary>
    /// Starts asking every running experiment (as the index lists them) to catch up: to re-read its stages and have the
    /// active ones announce their runs again. Each answers with <see cref="CaughtUpAsync"/>; until it has, it is asked
    /// again. The listing starts over when it was already under way: an experiment asked twice just answers twice.
    /// </summary>
    private void StartCatchUps()
    {
        _listing = true;
        _listedUpTo = null;
    }

    /// <summary>
    /// Lists running experiments a page at a time while fewer than a window's worth wait, sends the catch-ups that are due
    /// and those the window has room for, and ends recovery once every experiment listed has answered. True when it did.
    /// </summary>
    private async Task<bool> SendCatchUpsAsync(DateTimeOffset now)
    {
        while (_listing && _catchUps.Waiting < options.Value.CatchUpsInFlight)
        {
            var page = await ExperimentIndex.ListAsync(GrainFactory, RunningExperiments, _listedUpTo, 0, CatchUpPage);
            _catchUps.Add(page.Items.Select(experiment => experiment.Id));
            _listedUpTo = page.Next;
            _listing = page.Next is not null;
        }

        _catchUps.Due(now, out var first, out var again);
        foreach (var experimentId in again)
        {
            logger.LogInformation("Experiment {ExperimentId} has not caught up; asking it again", experimentId);
            OrchestratorMetrics.RecordResent(OrchestratorMetrics.ResentMessage.CatchUp);
            await GrainFactory.GetGrain<IExperimentGrain>(experimentId).CatchUpAsync();
        }

        foreach (var experimentId in first)
        {
            await GrainFactory.GetGrain<IExperimentGrain>(experimentId).CatchUpAsync();
        }

        _askedWhileRecovering |= _core.Recovering && first.Count > 0;
        if (_core.Recovering && !_listing && _catchUps.Idle)
        {
            if (_askedWhileRecovering)
            {
                EndRecovery("every running experiment announced its runs");
            }
            else
            {
                // Nothing was running: an ordinary activation, with nothing to recover and nothing to log.
                _core.EndRecovery();
            }

            return true;
        }

        return false;
    }

    /// <summary>
    /// A silo that left the cluster (stopped, or crashed and declared dead) took with it the one-way messages it had not
    /// delivered and the ones its grains were waiting to have acknowledged: every running experiment catches up, as after
    /// the scheduler's own activation but without holding assignments back, since the scheduler's memory is whole.
    /// </summary>
    private async Task CatchUpAfterDeparturesAsync(DateTimeOffset now)
    {
        var members = membership.CurrentSnapshot;
        var previous = _members;
        _members = members;
        if (previous is null || members.Version == previous.Version)
        {
            return;
        }

        // Dead now and not before (a silo may join and leave between two checks), or gone from the table while alive.
        var departed = members.Members.Values
            .Where(member => member.Status == SiloStatus.Dead && previous.GetSiloStatus(member.SiloAddress) != SiloStatus.Dead)
            .Concat(previous.Members.Values.Where(member => member.Status != SiloStatus.Dead && members.GetSiloStatus(member.SiloAddress) == SiloStatus.None))
            .Select(member => member.SiloAddress.ToString())
            .ToList();
        if (departed.Count > 0)
        {
            StartCatchUps();
            await SendCatchUpsAsync(now);
            logger.LogWarning("Silo {Silos} left the cluster; running experiments catch up, {Window} at a time", string.Join(", ", departed), options.Value.CatchUpsInFlight);
        }
    }

    /// <summary>
    /// How long an experiment has to answer a catch-up before it is asked again: half the time the scheduler holds
    /// assignments back for it after an activation (the heartbeat timeout), so that the second answer can still come
    /// before they resume. Catching up takes an experiment a call to each stage, and thousands catch up at once, so
    /// answers take longer than an acknowledgement's usual wait; asking again that soon would double the work.
    /// </summary>
    private static TimeSpan CatchUpWait(SchedulerOptions options) => options.HeartbeatTimeout / 2 > Redelivery.FirstWait ? options.HeartbeatTimeout / 2 : Redelivery.FirstWait;
}
