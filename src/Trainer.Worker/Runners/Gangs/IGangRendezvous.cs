using Orchestrator.Contracts.Messages;

namespace Trainer.Worker.Runners.Gangs;

/// <summary>The orchestrator's rendezvous store of a run, as requests over the bus (the agent sends them).</summary>
public interface IGangRendezvous
{
    Task<RendezvousReply> SetAsync(RendezvousSet request, CancellationToken cancellationToken);

    Task<RendezvousReply> GetAsync(RendezvousGet request, CancellationToken cancellationToken);
}
