using MassTransit;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Agent;

namespace Trainer.Worker.Consumers;

/// <summary>
/// Hands a run assigned to this worker to the <see cref="WorkerAgent"/>, which records it and returns, so the
/// message is acknowledged at once; the run itself goes on in the background and reports over the bus.
/// </summary>
public sealed class StartStageRunConsumer(WorkerAgent agent) : IConsumer<StartStageRun>
{
    public Task Consume(ConsumeContext<StartStageRun> context) => agent.AcceptAsync(context.Message, context.CancellationToken);
}
