using MassTransit;
using Orchestrator.Contracts.Messages;
using Orchestrator.Grains.Stages;

namespace Orchestrator.Silo.Transport;

/// <summary>
/// Answers a gang's rendezvous requests from its stage grain, which keeps the store of its current run: the orchestrator
/// is the gang's key-value store (torch's TCPStore), so no rank hosts a service the others must reach first.
/// </summary>
public sealed class RendezvousConsumer(IGrainFactory grains) : IConsumer<RendezvousSet>, IConsumer<RendezvousGet>
{
    public async Task Consume(ConsumeContext<RendezvousSet> context)
    {
        var message = context.Message;
        var result = await StageOf(message).RendezvousSetAsync(message.RunId, message.Key, message.Value);
        await context.RespondAsync(ToReply(result));
    }

    public async Task Consume(ConsumeContext<RendezvousGet> context)
    {
        var message = context.Message;
        var result = await StageOf(message).RendezvousGetAsync(message.RunId, message.Key);
        await context.RespondAsync(ToReply(result));
    }

    private IStageGrain StageOf(IStageRunMessage message) => grains.GetGrain<IStageGrain>(StageKey.Of(message.ExperimentId, message.StageId));

    private static RendezvousReply ToReply(RendezvousResult result) => new()
    {
        Status = result.Outcome switch
        {
            RendezvousOutcome.Ok => RendezvousStatus.Ok,
            RendezvousOutcome.Missing => RendezvousStatus.Missing,
            RendezvousOutcome.Stale => RendezvousStatus.Stale,
            _ => RendezvousStatus.Refused,
        },
        Value = result.Value,
        Error = result.Error,
    };
}

/// <summary>Rendezvous requests are short grain calls that ranks repeat while they wait: no retries, a few dozen at once.</summary>
public sealed class RendezvousConsumerDefinition : ConsumerDefinition<RendezvousConsumer>
{
    public RendezvousConsumerDefinition()
    {
        EndpointName = QueueNames.OrchestratorRendezvous;
        ConcurrentMessageLimit = 32;
    }
}
