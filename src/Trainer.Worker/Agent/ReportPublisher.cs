using MassTransit;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Trainer.Worker.Runners;

namespace Trainer.Worker.Agent;

/// <summary>
/// Publishes the worker's reports through a retry with jittered exponential backoff around a circuit breaker,
/// so a broker blip delays a report rather than losing it, and a broker that is down is not hammered by every
/// run at once (while the circuit is open, attempts fail fast and the retry waits them out). An attempt that neither
/// completes nor fails within <see cref="ReportPublisherOptions.AttemptTimeout"/> is abandoned and the report published
/// again, for as long as it takes: RabbitMQ.Client 7 can leave a publish waiting forever for the confirm of a channel a
/// broker restart closed (rabbitmq/rabbitmq-dotnet-client#1930), which would stop the run that awaits it. A report
/// delivered twice is harmless: the orchestrator ignores one it has already applied.
/// </summary>
public sealed class ReportPublisher : IStageRunReports
{
    private readonly Func<object, Type, CancellationToken, Task> _publish;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _attemptTimeout;
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger<ReportPublisher> _logger;

    public ReportPublisher(IBus bus, TimeProvider timeProvider, ILogger<ReportPublisher> logger)
        : this(bus.Publish, timeProvider, logger, new ReportPublisherOptions())
    {
    }

    /// <summary>Publishes through <paramref name="publish"/>; tests use it to stand in for a failing broker.</summary>
    internal ReportPublisher(
        Func<object, Type, CancellationToken, Task> publish, TimeProvider timeProvider, ILogger<ReportPublisher> logger, ReportPublisherOptions options)
    {
        _publish = publish;
        _timeProvider = timeProvider;
        _attemptTimeout = options.AttemptTimeout;
        _logger = logger;
        var transient = new PredicateBuilder().Handle<Exception>(exception => exception is not (OperationCanceledException or TimeoutException));
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<TimeoutException>(),
                MaxRetryAttempts = int.MaxValue,
                Delay = TimeSpan.Zero,
                OnRetry = retry =>
                {
                    _logger.LogWarning("Publishing a report did not finish within {AttemptTimeout} (attempt {Attempt}); publishing it again",
                        _attemptTimeout, retry.AttemptNumber + 1);
                    return default;
                },
            })
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = transient,
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryDelay,
                MaxDelay = options.MaxRetryDelay,
                OnRetry = retry =>
                {
                    _logger.LogWarning(retry.Outcome.Exception, "Publishing a report failed (attempt {Attempt}); retrying in {Delay}",
                        retry.AttemptNumber + 1, retry.RetryDelay);
                    return default;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = transient,
                FailureRatio = 0.5,
                MinimumThroughput = options.CircuitMinimumThroughput,
                SamplingDuration = TimeSpan.FromSeconds(30),
                BreakDuration = options.BreakDuration,
                OnOpened = opened =>
                {
                    _logger.LogWarning("Broker failing: report publishing paused for {BreakDuration}", opened.BreakDuration);
                    return default;
                },
            })
            .Build();
    }

    /// <summary>Publishes <paramref name="message"/>; throws only when every attempt failed or the token was cancelled.</summary>
    public async Task PublishAsync<T>(T message, CancellationToken cancellationToken)
        where T : class =>
        await _pipeline.ExecuteAsync(
            static async (state, token) => await state.Publisher._publish(state.Message, typeof(T), token)
                .WaitAsync(state.Publisher._attemptTimeout, state.Publisher._timeProvider, token),
            (Publisher: this, Message: message),
            cancellationToken);
}

/// <summary>The retry and breaker settings of <see cref="ReportPublisher"/>.</summary>
internal sealed record ReportPublisherOptions
{
    /// <summary>With the delays below, about half a minute of retries: a broker restart, not an outage.</summary>
    public int MaxRetryAttempts { get; init; } = 8;

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(10);

    public int CircuitMinimumThroughput { get; init; } = 4;

    public TimeSpan BreakDuration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long one attempt may wait before the report is published again. A publish waits while the broker is
    /// unreachable (MassTransit reconnects underneath it), so this is long enough not to pile up copies.
    /// </summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
