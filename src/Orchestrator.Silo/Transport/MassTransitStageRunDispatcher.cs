using MassTransit;
using Orchestrator.Contracts.Messages;
using Orchestrator.Grains.Scheduling;
using Trainer.Worker.Transport;

namespace Orchestrator.Silo.Transport;

/// <summary>Sends each rank of an assignment to its worker's own queue, over whichever transport the bus uses.</summary>
internal sealed class MassTransitStageRunDispatcher(IBus endpoints) : IStageRunDispatcher
{
    public async Task StartAsync(RunAssignment assignment, CancellationToken cancellationToken = default)
    {
        for (var rank = 0; rank < assignment.WorkerIds.Count; rank++)
        {
            var endpoint = await WorkerEndpointAsync(assignment.WorkerIds[rank]);
            await endpoint.Send(assignment.ToStartMessage(rank), cancellationToken);
        }
    }

    public async Task CancelAsync(RunAssignment assignment, IReadOnlyList<string> workerIds, string reason, CancellationToken cancellationToken = default)
    {
        var run = assignment.Run;
        foreach (var workerId in workerIds)
        {
            var endpoint = await WorkerEndpointAsync(workerId);
            await endpoint.Send(new CancelStageRun { RunId = run.RunId, ExperimentId = run.ExperimentId, StageId = run.StageId, Reason = reason }, cancellationToken);
        }
    }

    private Task<ISendEndpoint> WorkerEndpointAsync(string workerId) =>
        endpoints.GetSendEndpoint(new Uri($"queue:{TransportOptions.WorkerQueue(workerId)}"));
}
