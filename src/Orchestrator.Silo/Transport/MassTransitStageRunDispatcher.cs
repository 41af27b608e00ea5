using System.Diagnostics;
using System.Threading.Channels;
using MassTransit;
using Orchestrator.Contracts.Messages;
using Orchestrator.Contracts.Telemetry;
using Orchestrator.Grains;
using Orchestrator.Grains.Scheduling;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace Orchestrator.Silo.Transport;

/// <summary>
/// Sends each rank of an assignment to its worker's own queue, over whichever transport the bus uses, through a
/// short jittered retry and a circuit breaker. The scheduler only hands messages over: they wait in one of
/// <see cref="Lanes"/> outboxes and are sent from there, so the scheduler grain never waits for a broker's confirm
/// (awaiting one per run made it the bottleneck of the whole cluster: docs/benchmarks.md). A run's messages all
/// take the same lane, so its cancel never overtakes its start. A send that still fails after the retries leaves
/// the run assigned, and the worker's heartbeat, which will not list it, gets it declared lost and retried; so does
/// a message still in an outbox when the silo dies.
/// </summary>
internal sealed class MassTransitStageRunDispatcher : IStageRunDispatcher, IHostedService, IDisposable
{
    /// <summary>
    /// Outboxes sent from in parallel, each in order. A send holds its lane until the broker confirms it (about a
    /// delivery's round trip, 10–20 ms on a loaded broker), so the lanes bound the starts in flight: 16 capped them near
    /// 1,000 a second and a burst of ready stages waited in the outboxes (p50 13 ms, p99 up to 1 s at 1,000 experiments);
    /// 64 keep that wait near 3 ms (docs/benchmarks.md, issue 29 item 8). A lane is an idle task and a channel.
    /// </summary>
    public const int Lanes = 64;

    private static readonly PredicateBuilder<object> Transient = new PredicateBuilder().Handle<Exception>(exception => exception is not OperationCanceledException);

    private readonly IBus _endpoints;
    private readonly ILogger<MassTransitStageRunDispatcher> _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly Channel<Delivery>[] _lanes;
    private readonly CancellationTokenSource _stopping = new();
    private Task _sending = Task.CompletedTask;

    public MassTransitStageRunDispatcher(IBus endpoints, ILogger<MassTransitStageRunDispatcher> logger)
    {
        _endpoints = endpoints;
        _logger = logger;
        _pipeline = new ResiliencePipelineBuilder()
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
        _lanes = [.. Enumerable.Range(0, Lanes).Select(_ => Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleReader = true }))];
    }

    public Task StartAsync(RunAssignment assignment, CancellationToken cancellationToken = default)
    {
        for (var rank = 0; rank < assignment.WorkerIds.Count; rank++)
        {
            Hand(assignment.Run, assignment.WorkerIds[rank], assignment.ToStartMessage(rank));
        }

        return Task.CompletedTask;
    }

    public Task CancelAsync(RunAssignment assignment, IReadOnlyList<string> workerIds, string reason, CancellationToken cancellationToken = default)
    {
        var run = assignment.Run;
        var message = new CancelStageRun { RunId = run.RunId, ExperimentId = run.ExperimentId, StageId = run.StageId, Reason = reason };
        foreach (var workerId in workerIds)
        {
            Hand(run, workerId, message);
        }

        return Task.CompletedTask;
    }

    Task IHostedService.StartAsync(CancellationToken cancellationToken)
    {
        _sending = Task.WhenAll(_lanes.Select(lane => Task.Run(() => SendAllAsync(lane.Reader), CancellationToken.None)));
        return Task.CompletedTask;
    }

    /// <summary>Sends what the outboxes hold, until the host's stop timeout runs out.</summary>
    async Task IHostedService.StopAsync(CancellationToken cancellationToken)
    {
        foreach (var lane in _lanes)
        {
            lane.Writer.TryComplete();
        }

        await using (cancellationToken.Register(_stopping.Cancel))
        {
            await _sending;
        }
    }

    public void Dispose() => _stopping.Dispose();

    private void Hand(RunRequest run, string workerId, object message)
    {
        var lane = _lanes[(int)((uint)StringComparer.Ordinal.GetHashCode(run.RunId) % Lanes)];
        if (!lane.Writer.TryWrite(new Delivery(run, workerId, message, Activity.Current?.Context)))
        {
            using var scope = RunScope(run);
            _logger.LogWarning("The silo is stopping: {Message} for run {RunId} was not sent to worker {WorkerId}", message.GetType().Name, run.RunId, workerId);
        }
    }

    private async Task SendAllAsync(ChannelReader<Delivery> lane)
    {
        await foreach (var delivery in lane.ReadAllAsync(CancellationToken.None))
        {
            // Sent in the run's trace: the message headers carry it on to the worker.
            Activity.Current = null;
            using var send = delivery.Trace is { } dispatch ? OrchestratorTracing.StartSend(delivery.Message.GetType().Name, dispatch, delivery.Run) : null;
            using var scope = RunScope(delivery.Run);
            try
            {
                var endpoint = await _endpoints.GetSendEndpoint(new Uri($"queue:{QueueNames.Worker(delivery.WorkerId)}"));
                await _pipeline.ExecuteAsync(async token => await endpoint.Send(delivery.Message, token), _stopping.Token);
            }
            catch (Exception exception)
            {
                _logger.LogError(exception, "{Message} for run {RunId} could not be sent to worker {WorkerId}; its heartbeat will get the run declared lost",
                    delivery.Message.GetType().Name, delivery.Run.RunId, delivery.WorkerId);
            }
        }
    }

    private IDisposable? RunScope(RunRequest run) => _logger.BeginScope(RunTelemetry.Scope(run.ExperimentId, run.StageId, run.RunId));

    private sealed record Delivery(RunRequest Run, string WorkerId, object Message, ActivityContext? Trace);
}
