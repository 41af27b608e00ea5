using MassTransit;
using Microsoft.Extensions.Logging;
using Orchestrator.Contracts.Messages;
using Orchestrator.Contracts.Telemetry;

namespace Orchestrator.Hosting.Transport;

/// <summary>
/// Consumes every message about a run under a log scope with the run's ids, on both planes: whatever a consumer,
/// and whatever it calls in the same flow, logs about the run carries them (including work it starts in the
/// background, which inherits the scope).
/// </summary>
public sealed class RunLogScopeFilter<T>(ILogger<RunLogScopeFilter<T>> logger) : IFilter<ConsumeContext<T>>
    where T : class
{
    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        if (context.Message is not IStageRunMessage run)
        {
            await next.Send(context);
            return;
        }

        using (logger.BeginScope(RunTelemetry.Scope(run)))
        {
            await next.Send(context);
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("runLogScope");
}
