using Orchestrator.Contracts.Messages;
using VisionLanguage.Training.Distributed;

namespace Trainer.Worker.Runners.Gangs;

/// <summary>
/// A gang rank's view of its run's rendezvous store in the orchestrator. A get asks again, a little later each time (up
/// to <see cref="MaxPoll"/>), until some rank has set the key or the timeout passes. A store of a run that is no longer
/// current answers stale: the generation is over, so the rank stops with <see cref="CollectiveFailedException"/>.
/// </summary>
public sealed class OrchestratorRendezvousStore(GangMember run, IGangRendezvous rendezvous, TimeProvider timeProvider) : IRendezvousStore
{
    /// <summary>The first wait between two gets of a key not yet set.</summary>
    public static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>The longest wait between two gets.</summary>
    public static readonly TimeSpan MaxPoll = TimeSpan.FromSeconds(1);

    public async Task SetAsync(string key, byte[] value, CancellationToken cancellationToken)
    {
        var reply = await rendezvous.SetAsync(new RendezvousSet
        {
            RunId = run.RunId,
            ExperimentId = run.ExperimentId,
            StageId = run.StageId,
            Rank = run.Rank,
            Key = key,
            Value = value,
        }, cancellationToken);
        Check(reply, key);
    }

    public async Task<byte[]> GetAsync(string key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        var poll = FirstPoll;
        while (true)
        {
            var reply = await rendezvous.GetAsync(new RendezvousGet
            {
                RunId = run.RunId,
                ExperimentId = run.ExperimentId,
                StageId = run.StageId,
                Rank = run.Rank,
                Key = key,
            }, cancellationToken);
            if (reply.Status == RendezvousStatus.Ok)
            {
                return reply.Value ?? throw new InvalidOperationException($"the orchestrator found rendezvous key '{key}' of run {run.RunId} but sent no value");
            }

            Check(reply, key);
            var left = timeout - timeProvider.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException(
                    $"rendezvous key '{key}' of run {run.RunId} was not set within {timeout.TotalSeconds:0.#} s: a rank of the gang did not join " +
                    "(raise Worker:Gang:JoinTimeout if ranks start slowly)");
            }

            await Task.Delay(poll < left ? poll : left, timeProvider, cancellationToken);
            poll = TimeSpan.FromTicks(Math.Min(poll.Ticks * 2, MaxPoll.Ticks));
        }
    }

    private void Check(RendezvousReply reply, string key)
    {
        switch (reply.Status)
        {
            case RendezvousStatus.Stale:
                throw new CollectiveFailedException($"rendezvous of run {run.RunId} refused: {reply.Error ?? "the run is no longer current"}");
            case RendezvousStatus.Refused:
                throw new InvalidOperationException($"rendezvous key '{key}' of run {run.RunId} refused: {reply.Error}");
        }
    }
}
