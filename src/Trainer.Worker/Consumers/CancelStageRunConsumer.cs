using MassTransit;
using Orchestrator.Contracts.Messages;
using Trainer.Worker.Agent;

namespace Trainer.Worker.Consumers;

/// <summary>Asks the <see cref="WorkerAgent"/> to stop a run; a run not active on this worker is ignored.</summary>
public sealed class CancelStageRunConsumer(WorkerAgent agent) : IConsumer<CancelStageRun>
{
    public Task Consume(ConsumeContext<CancelStageRun> context) => agent.CancelAsync(context.Message, context.CancellationToken);
}
