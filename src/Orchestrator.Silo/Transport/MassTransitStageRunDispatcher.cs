using MassTransit;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Orchestrator.Contracts.Messages;
using Orchestrator.Contracts.Telemetry;
using Orchestrator.Grains.Scheduling;
using Trainer.Worker.Transport;

namespace Orchestrator.Silo.Transport;

/// <summary>
/// Sends each rank of an assignment to its worker's own queue, over whichever transport the bus uses, through
/// a short jittered retry and a circuit breaker. The scheduler waits on this call, so the retry is brief; a
/// send that still fails leaves the run assigned, and the worker's heartbeat, which will not list it, gets it
/// declared lost and retried.
/// </summary>
internal sealed class MassTransitStageRunDispatcher(IBus endpoints, ILogger<MassTransitStageRunDispatcher> logger) : IStageRunDispatcher
{
    private static readonly PredicateBuilder<object> Transient = new PredicateBuilder().Handle<Exception>(exception => exception is not OperationCanceledException);

    private readonly ResiliencePipeline _pipeline = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = Transient,
            MaxRetryAttempts = 3,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(100),
            MaxDelay = TimeSpan.FromSeconds(1),
            OnRetry = retry =>
            {
                logger.LogWarning(retry.Outcome.Exception, "Sending to a worker failed (attempt {Attempt}); retrying in {Delay}", retry.AttemptNumber + 1, retry.RetryDelay);
                return default;
            },
        })
        .AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            ShouldHandle = Transient,
            FailureRatio = 0.5,
            MinimumThroughput = 10,
            BreakDuration = TimeSpan.FromSeconds(5),
        })
        .Build();

    public async Task StartAsync(RunAssignment assignment, CancellationToken cancellationToken = default)
    {
        using var scope = RunScope(assignment.Run);
        for (var rank = 0; rank < assignment.WorkerIds.Count; rank++)
        {
            var workerId = assignment.WorkerIds[rank];
            var message = assignment.ToStartMessage(rank);
            await _pipeline.ExecuteAsync(async token => await (await WorkerEndpointAsync(workerId)).Send(message, token), cancellationToken);
        }
    }

    public async Task CancelAsync(RunAssignment assignment, IReadOnlyList<string> workerIds, string reason, CancellationToken cancellationToken = default)
    {
        var run = assignment.Run;
        using var scope = RunScope(run);
        var message = new CancelStageRun { RunId = run.RunId, ExperimentId = run.ExperimentId, StageId = run.StageId, Reason = reason };
        foreach (var workerId in workerIds)
        {
            await _pipeline.ExecuteAsync(async token => await (await WorkerEndpointAsync(workerId)).Send(message, token), cancellationToken);
        }
    }

    private IDisposable? RunScope(RunRequest run) => logger.BeginScope(RunTelemetry.Scope(run.ExperimentId, run.StageId, run.RunId));

    private Task<ISendEndpoint> WorkerEndpointAsync(string workerId) =>
        endpoints.GetSendEndpoint(new Uri($"queue:{TransportOptions.WorkerQueue(workerId)}"));
}
