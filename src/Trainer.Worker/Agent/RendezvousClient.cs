using MassTransit;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Runners.Gangs;

namespace Trainer.Worker.Agent;

/// <summary>Sends a gang's rendezvous requests to the orchestrator's rendezvous queue and waits for the answer.</summary>
internal sealed class RendezvousClient(IClientFactory clients) : IGangRendezvous
{
    /// <summary>How long one request waits for its answer; a get that finds nothing is answered at once.</summary>
    public static readonly RequestTimeout Timeout = RequestTimeout.After(s: 10);

    private static readonly Uri Queue = new($"queue:{QueueNames.OrchestratorRendezvous}");

    public async Task<RendezvousReply> SetAsync(RendezvousSet request, CancellationToken cancellationToken) =>
        (await clients.CreateRequestClient<RendezvousSet>(Queue, Timeout).GetResponse<RendezvousReply>(request, cancellationToken)).Message;

    public async Task<RendezvousReply> GetAsync(RendezvousGet request, CancellationToken cancellationToken) =>
        (await clients.CreateRequestClient<RendezvousGet>(Queue, Timeout).GetResponse<RendezvousReply>(request, cancellationToken)).Message;
}
