using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace Orchestrator.Artifacts;

/// <summary>
/// The resilience pipeline around the stores' I/O: retries transient failures with exponential, jittered
/// backoff, and a circuit breaker that stops hammering a store that keeps failing. What the store itself
/// found wrong (a corrupt or missing artifact, a bad argument, a conflicting commit) is never retried: the
/// answer would not change. One instance per process, so the breaker sees every caller's failures.
/// </summary>
public sealed partial class ArtifactStoreResilience
{
    // Azure's own codes for a request worth repeating: timeout, throttling, server-side failures.
    private const int RequestTimeout = 408;
    private const int TooManyRequests = 429;
    private const int FirstServerError = 500;

    private readonly ILogger<ArtifactStoreResilience> _logger;

    public ArtifactStoreResilience(IOptions<ArtifactStoreOptions> options, ILogger<ArtifactStoreResilience> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _logger = logger;
        var settings = options.Value;
        var builder = new ResiliencePipelineBuilder();
        if (settings.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = arguments => ValueTask.FromResult(
                    arguments.Outcome.Exception is { } exception && IsTransient(exception, arguments.Context.CancellationToken)),
                MaxRetryAttempts = settings.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = settings.RetryBaseDelay,
                MaxDelay = settings.RetryMaxDelay,
                OnRetry = arguments =>
                {
                    LogRetrying(_logger, arguments.Outcome.Exception, arguments.AttemptNumber + 1, arguments.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            });
        }

        // Inside the retry, so every attempt counts towards the failure ratio; an open circuit throws
        // BrokenCircuitException, which the retry does not handle, so callers fail fast while it is open.
        Pipeline = builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            ShouldHandle = arguments => ValueTask.FromResult(
                arguments.Outcome.Exception is { } exception && IsTransient(exception, arguments.Context.CancellationToken)),
            FailureRatio = 0.5,
            MinimumThroughput = settings.CircuitBreakerMinimumThroughput,
            SamplingDuration = TimeSpan.FromSeconds(30),
            BreakDuration = settings.CircuitBreakDuration,
            OnOpened = arguments =>
            {
                LogCircuitOpened(_logger, arguments.Outcome.Exception, arguments.BreakDuration);
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    /// <summary>The pipeline every store call runs through.</summary>
    public ResiliencePipeline Pipeline { get; }

    /// <summary>
    /// Whether <paramref name="exception"/> is a failure that may go away by itself. A cancellation is
    /// transient only when the caller did not ask for it (the Azure SDK reports its own timeouts that way).
    /// </summary>
    public static bool IsTransient(Exception exception, CancellationToken callerToken) => exception switch
    {
        // Not transient although they are IOExceptions: the path is wrong, and asking again will not fix it.
        FileNotFoundException or DirectoryNotFoundException or PathTooLongException => false,
        IOException => true,
        RequestFailedException failed => failed.Status is 0 or RequestTimeout or TooManyRequests or >= FirstServerError,
        HttpRequestException or TimeoutException => true,
        OperationCanceledException => !callerToken.IsCancellationRequested,
        _ => false,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Artifact store call failed transiently; attempt {Attempt} in {Delay}")]
    private static partial void LogRetrying(ILogger logger, Exception? exception, int attempt, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Error, Message = "Artifact store keeps failing; calls fail at once for {BreakDuration}")]
    private static partial void LogCircuitOpened(ILogger logger, Exception? exception, TimeSpan breakDuration);
}
