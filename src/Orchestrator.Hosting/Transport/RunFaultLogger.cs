using MassTransit;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Messages;
using Orchestrator.Contracts.Telemetry;

namespace Orchestrator.Hosting.Transport;

/// <summary>
/// Logs every message about a run whose consumer faulted, with the run's ids, on both planes. MassTransit
/// then moves the message to the endpoint's error queue, where it can be inspected and moved back.
/// </summary>
public sealed class RunFaultLogger(ILogger<RunFaultLogger> logger) : IConsumeObserver
{
    public Task PreConsume<T>(ConsumeContext<T> context)
        where T : class => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context)
        where T : class => Task.CompletedTask;

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception)
        where T : class
    {
        if (context.Message is IStageRunMessage run)
        {
            using var scope = logger.BeginScope(RunTelemetry.Scope(run));
            logger.LogError(exception, "{Message} for run {RunId} of {ExperimentId}/{StageId} faulted and goes to the error queue of {Endpoint}",
                typeof(T).Name, run.RunId, run.ExperimentId, run.StageId, context.ReceiveContext.InputAddress);
        }
        else
        {
            logger.LogError(exception, "{Message} faulted and goes to the error queue of {Endpoint}", typeof(T).Name, context.ReceiveContext.InputAddress);
        }

        return Task.CompletedTask;
    }
}
